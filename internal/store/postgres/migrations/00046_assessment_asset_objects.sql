-- Assessed objects bound to assets: a result whose object is the name or
-- address of exactly one asset of its tenant is rewritten to that asset's
-- ID, so evidence and coverage follow the asset. A result stays as it is
-- when the text matches no asset or several, or when another result of
-- the same item already names the same asset (by ID, name or address).

-- +goose Up
UPDATE assessment_items
SET object = (SELECT a.id FROM assets a
              WHERE a.tenant_id = assessment_items.tenant_id
                AND (a.name = assessment_items.object OR a.address = assessment_items.object))
WHERE object <> ''
  AND (SELECT COUNT(*) FROM assets a
       WHERE a.tenant_id = assessment_items.tenant_id
         AND (a.name = assessment_items.object OR a.address = assessment_items.object)) = 1
  AND NOT EXISTS (SELECT 1 FROM assessment_items b, assets a
                  WHERE b.project_id = assessment_items.project_id
                    AND b.item = assessment_items.item
                    AND b.object <> assessment_items.object
                    AND a.tenant_id = assessment_items.tenant_id
                    AND (a.name = assessment_items.object OR a.address = assessment_items.object)
                    AND (b.object = a.id OR b.object = a.name OR b.object = a.address));

-- +goose Down
-- The names are not kept: a bound object stays bound.
SELECT 1;
