-- Kinesis mode (parity kcl-processor): the newest ApproximateCreationDateTime checked per item key.
-- Kinesis Data Streams for DynamoDB repeats records and may deliver them out of order, and carries
-- no DynamoDB sequence number; an event older than its key's mark is stale (counted, not checked).
-- timestamptz keeps microseconds. Advanced in the same transaction as the batch's verdicts.
CREATE TABLE kcl_high_water (
    item_key            text        PRIMARY KEY,  -- the item's DynamoDB key attributes, canonical JSON
    approximate_created timestamptz NOT NULL,
    event_id            text        NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
