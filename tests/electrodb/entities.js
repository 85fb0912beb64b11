// The example app's ElectroDB entities (service "campaignapp"), shared by write.js and read.js.
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

module.exports = { entities: { session, campaign } };
