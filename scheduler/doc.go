// Package scheduler runs payrun's unattended work: per municipality, cron
// schedules stored in the database (robfig/cron/v3 specs, evaluated in
// Europe/Berlin) turn into jobs in the jobs table, and any number of
// scheduler instances claim and run those jobs, each exactly once.
//
// The job bodies (create or recompute the monthly run, the supplementary
// run, export released runs, the reminder list) are functions injected
// through Actions: the scheduler imports neither the run code nor the
// exporter, signs nothing and computes nothing.
//
// # Planning
//
// Every Tick plans each enabled schedule: the latest occurrence after the
// schedule's last_planned_at and not after now is inserted as a job
// (ON CONFLICT DO NOTHING) and becomes the new last_planned_at. After
// downtime that is one job for the latest missed occurrence, not one per
// missed occurrence (catch-up once).
//
// # Daylight saving
//
// robfig/cron evaluated directly in Europe/Berlin skips a 02:30 job on the
// spring-forward night and runs it twice on the fall-back night. Schedules
// here are evaluated on the wall clock instead (see Schedule): a wall time
// that does not exist runs one hour later (02:30 → 03:30 CEST), and a wall
// time that exists twice runs once.
//
// # Claiming
//
// A job is claimed with FOR UPDATE SKIP LOCKED and holds a lease
// (claimed_until) that the claiming instance extends on every tick while
// the job runs. A job whose lease expired (its process died) is claimed
// again; the dead attempt is recorded as lost. A failing job is retried
// with exponential backoff up to MaxAttempts and then marked failed,
// logged and counted (payrun_scheduler_job_failures_total); it stays
// visible in `payrun jobs`. Job bodies must be idempotent, or
// transactional so that a killed attempt leaves nothing behind: a retried
// job runs its body again.
//
// # Time
//
// The clock is injected (Config.NowFunc) and every SQL statement gets now
// as a parameter, so tests drive time with Tick/RunDue and a fake clock.
package scheduler
