-- A tenant's time zone (an IANA name such as "Asia/Shanghai"; '' means
-- UTC): its weekly digest covers Monday to Monday in that zone and goes
-- out once the week has ended there.

-- +goose Up
ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE tenants DROP COLUMN time_zone;
