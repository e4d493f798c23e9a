package payrun

// RunState is the lifecycle state of a payment run.
type RunState string

// The run states: proposed → established (1st signature) → released (2nd
// signature) → exported; cancelled from any state before exported.
const (
	RunProposed    RunState = "proposed"
	RunEstablished RunState = "established"
	RunReleased    RunState = "released"
	RunExported    RunState = "exported"
	RunCancelled   RunState = "cancelled"
)

// Live reports whether lines of a run in state s count as paid for netting.
func (s RunState) Live() bool {
	return s == RunEstablished || s == RunReleased || s == RunExported
}

// RunKind distinguishes the monthly run from supplementary runs.
type RunKind string

// The run kinds.
const (
	RunMonthly       RunKind = "monthly"
	RunSupplementary RunKind = "supplementary"
)

// LineKind says whether a run line pays money or records an overpayment.
type LineKind string

// The line kinds.
const (
	LinePayment     LineKind = "payment"     // part of a positive (case, month, payee) difference: paid out
	LineOverpayment LineKind = "overpayment" // part of a negative difference: a receivable, never paid out
)

// Role is what a user may do within a municipality (CONTRACT.md §1).
type Role string

// The roles.
const (
	RoleChecker     Role = "checker"      // first signature (Feststellung)
	RoleApprover    Role = "approver"     // second signature (Freigabe)
	RoleCashier     Role = "cashier"      // export and download
	RoleAdmin       Role = "admin"        // municipality settings, account rules
	RoleRatesCounty Role = "rates_county" // SGB XII and § 2 AsylbLG rates
	RoleRatesHub    Role = "rates_hub"    // §§ 3, 1a AsylbLG rates (Kopfstelle)
	RoleSystem      Role = "system"       // the scheduler and fixtures: may sign nothing
)

// Roles lists every role.
var Roles = []Role{RoleChecker, RoleApprover, RoleCashier, RoleAdmin, RoleRatesCounty, RoleRatesHub, RoleSystem}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}
