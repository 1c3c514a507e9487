-- The result an operation answers at its Location URL when it is not the resource itself (the SAS
-- of a disk's or snapshot's beginGetAccess), as JSON; NULL for every other operation.
ALTER TABLE async_operations ADD COLUMN result TEXT;
