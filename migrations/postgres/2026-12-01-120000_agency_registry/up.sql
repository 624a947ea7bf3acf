-- The registry belongs to the partnership (issue 10 §7): agencies can be
-- retired, and kinds are a closed set with education and childcare their own.
ALTER TABLE agencies ADD COLUMN retired_at TIMESTAMP;

-- The first seed's finer kinds, as `core::registry::AgencyKind::parse` reads them.
UPDATE agencies SET kind = 'local_authority' WHERE kind = 'council_service';
UPDATE agencies SET kind = 'childcare' WHERE kind = 'education_early_years';
UPDATE agencies SET kind = 'education' WHERE kind IN
    ('education_primary', 'education_secondary', 'education_special',
     'education_independent', 'education_post_16');
UPDATE agencies SET kind = 'health_provider' WHERE kind IN
    ('nhs_trust', 'ambulance', 'health_professionals');
UPDATE agencies SET kind = 'voluntary' WHERE kind = 'voluntary_sector';
