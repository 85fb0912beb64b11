// Writes example-app entities into DynamoDB with the real ElectroDB library, as the app would.
// Input: a JSON array on stdin of {"entity": "session"|"campaign", "values": {...}}.
// Env: TABLE, AWS_ENDPOINT_URL, AWS_REGION (and credentials). Prints the number of items written.
const { Entity } = require("electrodb");
const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");

const client = new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL, region: process.env.AWS_REGION });
const table = process.env.TABLE;

const session = new Entity(
  {
    model: { entity: "session", version: "1", service: "campaignapp" },
    attributes: {
      sessionId: { type: "string", required: true },
      campaignId: { type: "string", required: true },
      name: { type: "string", required: true },
      summary: { type: "string" },
      metadata: { type: "any" },
      sessionNumber: { type: "number" },
      tags: { type: "set", items: "string" },
      createdAt: { type: "string" },
      updatedAt: { type: "string" },
    },
    indexes: {
      primary: {
        pk: { field: "pk", composite: ["campaignId"] },
        sk: { field: "sk", composite: ["sessionId"] },
      },
    },
  },
  { client, table },
);

const campaign = new Entity(
  {
    model: { entity: "campaign", version: "1", service: "campaignapp" },
    attributes: {
      campaignId: { type: "string", required: true },
      name: { type: "string", required: true },
      budget: { type: "number" },
      active: { type: "boolean" },
      updatedAt: { type: "number" },
    },
    indexes: {
      primary: {
        pk: { field: "pk", composite: ["campaignId"] },
        sk: { field: "sk", composite: [] },
      },
    },
  },
  { client, table },
);

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const records = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const entities = { session, campaign };
  for (const record of records) {
    await entities[record.entity].put(record.values).go();
  }
  process.stdout.write(String(records.length) + "\n");
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
});
