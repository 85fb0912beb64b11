// Writes example-app entities into DynamoDB with the real ElectroDB library, as the app would.
// Input: a JSON array on stdin of {"entity": "session"|"campaign", "values": {...}}.
// Env: TABLE, AWS_ENDPOINT_URL, AWS_REGION (and credentials). Prints the number of items written.
const { entities } = require("./entities");

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const records = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  for (const record of records) {
    await entities[record.entity].put(record.values).go();
  }
  process.stdout.write(String(records.length) + "\n");
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
});
