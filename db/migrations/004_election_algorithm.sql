-- The election algorithm chosen at runtime (POST /api/election) is the cluster's, not one
-- process's: a restarted node resumes with it instead of its ELECTION_ALGORITHM default.
ALTER TABLE cluster_leadership ADD COLUMN algorithm text CHECK (algorithm IN ('bully', 'ring'));
