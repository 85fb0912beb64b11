// Reads example-app entities with the real ElectroDB library, as the app would.
// Input: a JSON object on stdin {"gets": [{"entity": "session"|"campaign", "key": {...}}],
// "campaigns": ["<campaignId>", ...]}. Output: {"gets": [item or null, ...],
// "sessions_by_campaign": {"<campaignId>": [sessionId, ...]}} — gets by the primary key, and the
// app's query of a campaign's sessions (session.query.primary({campaignId})).
// Env: TABLE, AWS_ENDPOINT_URL, AWS_REGION (and credentials).
const { entities } = require("./entities");

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const gets = [];
  for (const get of request.gets || []) {
    const found = await entities[get.entity].get(get.key).go();
    gets.push(found.data);
  }
  const sessionsByCampaign = {};
  for (const campaignId of request.campaigns || []) {
    const found = await entities.session.query.primary({ campaignId }).go({ pages: "all" });
    sessionsByCampaign[campaignId] = found.data.map((s) => s.sessionId).sort();
  }
  process.stdout.write(JSON.stringify({ gets, sessions_by_campaign: sessionsByCampaign }) + "\n");
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(1);
});
