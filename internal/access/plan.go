package access

// PlanSandbox is the plan of a sandbox tenant (SPEC §15): chosen only at
// registration and never changed, it lifts every request limit, marks the
// tenant's API keys cvk_test_ and lets the daily reset job clear its data.
const PlanSandbox = "sandbox"
