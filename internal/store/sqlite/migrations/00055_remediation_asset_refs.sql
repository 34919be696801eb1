-- Remediation items raised from assessment results before the results were
-- bound to assets (migration 00046) refer to their result as
-- "item@object" with the object as typed. A reference whose object is the
-- name or address of exactly one asset of its tenant is rewritten to
-- "item@<asset ID>", the form raised since, unless another item of the
-- same source already names that asset for the same item (by ID, name or
-- address). Every other "item@object" reference of an assessment that is
-- not an asset ID keeps its text and gets a visible note in its detail.

-- +goose Up
UPDATE remediation_items
SET source_ref = substr(remediation_items.source_ref, 1, instr(remediation_items.source_ref, '@') - 1) || '@' ||
    (SELECT a.id FROM assets a WHERE a.tenant_id = remediation_items.tenant_id AND (a.name = substr(remediation_items.source_ref, instr(remediation_items.source_ref, '@') + 1) OR a.address = substr(remediation_items.source_ref, instr(remediation_items.source_ref, '@') + 1)))
WHERE source_kind = 'assessment_item'
  AND instr(remediation_items.source_ref, '@') > 1
  AND substr(remediation_items.source_ref, instr(remediation_items.source_ref, '@') + 1) <> ''
  AND NOT EXISTS (SELECT 1 FROM assets a WHERE a.tenant_id = remediation_items.tenant_id AND a.id = substr(remediation_items.source_ref, instr(remediation_items.source_ref, '@') + 1))
  AND (SELECT COUNT(*) FROM assets a WHERE a.tenant_id = remediation_items.tenant_id AND (a.name = substr(remediation_items.source_ref, instr(remediation_items.source_ref, '@') + 1) OR a.address = substr(remediation_items.source_ref, instr(remediation_items.source_ref, '@') + 1))) = 1
  AND NOT EXISTS (SELECT 1 FROM remediation_items r, assets a
                  WHERE r.tenant_id = remediation_items.tenant_id
                    AND r.source_kind = remediation_items.source_kind
                    AND r.source_id = remediation_items.source_id
                    AND r.id <> remediation_items.id
                    AND a.tenant_id = remediation_items.tenant_id
                    AND (a.name = substr(remediation_items.source_ref, instr(remediation_items.source_ref, '@') + 1) OR a.address = substr(remediation_items.source_ref, instr(remediation_items.source_ref, '@') + 1))
                    AND (r.source_ref = substr(remediation_items.source_ref, 1, instr(remediation_items.source_ref, '@') - 1) || '@' || a.id
                         OR r.source_ref = substr(remediation_items.source_ref, 1, instr(remediation_items.source_ref, '@') - 1) || '@' || a.name
                         OR r.source_ref = substr(remediation_items.source_ref, 1, instr(remediation_items.source_ref, '@') - 1) || '@' || a.address));

UPDATE remediation_items
SET detail = detail || CASE WHEN detail = '' THEN '' ELSE char(10) || char(10) END ||
    '[迁移 00055] 整改对象“' || substr(remediation_items.source_ref, instr(remediation_items.source_ref, '@') + 1) || '”未能对应到唯一资产，按原文保留。' || char(10) ||
    '[Migration 00055] The object "' || substr(remediation_items.source_ref, instr(remediation_items.source_ref, '@') + 1) || '" was not bound to an asset: it names no asset of the organisation, ' ||
    'several assets, or an asset another item of this assessment already names; it stays as typed.'
WHERE source_kind = 'assessment_item'
  AND instr(remediation_items.source_ref, '@') > 1
  AND NOT EXISTS (SELECT 1 FROM assets a WHERE a.tenant_id = remediation_items.tenant_id AND a.id = substr(remediation_items.source_ref, instr(remediation_items.source_ref, '@') + 1));

-- +goose Down
-- The typed objects are not kept: a bound reference stays bound, a note stays.
SELECT 1;
