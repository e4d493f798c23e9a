-- 0010: who may edit which central rate table (payrun.RateTable.OwnerRole):
-- the county the SGB XII / SGB II / § 2 AsylbLG tables, the Kopfstelle (hub)
-- the § 3a AsylbLG table.
INSERT INTO rate_table_owners (rate_table, owner_role) VALUES
    ('SGB_XII', 'rates_county'),
    ('SGB_II', 'rates_county'),
    ('AsylbLG_2', 'rates_county'),
    ('AsylbLG_3a', 'rates_hub');
