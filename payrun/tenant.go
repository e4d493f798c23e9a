package payrun

// MunicipalityKind says what a tenant is.
type MunicipalityKind string

// The tenant kinds: municipalities pay benefits; the county and the
// Kopfstelle (hub) own central rate tables and settings.
const (
	KindMunicipality MunicipalityKind = "municipality"
	KindCounty       MunicipalityKind = "county"
	KindHub          MunicipalityKind = "hub"
)

// Municipality is a tenant: its key (CONTRACT.md §1), name, debtor account
// and settings.
type Municipality struct {
	Key        string           `json:"key"`
	Name       string           `json:"name"`
	Kind       MunicipalityKind `json:"kind"`
	Parent     string           `json:"parent,omitempty"`
	DebtorName string           `json:"debtor_name,omitempty"`
	DebtorIBAN string           `json:"debtor_iban,omitempty"`
	DebtorBIC  string           `json:"debtor_bic,omitempty"`
	Settings   Settings         `json:"settings"`
}

// Settings are a municipality's choices (stored as JSON).
type Settings struct {
	ExecutionDaysBefore int          `json:"execution_days_before"` // bank business days before the 1st (default 1)
	PaymentThreshold    Cents        `json:"payment_threshold"`     // payments above it need an approver whose limit covers them
	Calc                PolicyConfig `json:"calc"`
	BookingLayout       string       `json:"booking_layout"` // name of the booking file layout
}

// PolicyConfig holds the calculation choices the law leaves open
// (CONTRACT.md §3); the zero value is the contract's default.
type PolicyConfig struct {
	SGB12ActualDays     bool `json:"sgb12_actual_days"`      // SGB XII partial months by actual days instead of 30
	RoundDailyRateFirst bool `json:"round_daily_rate_first"` // round the daily rate before multiplying by days
	FullChildSupplement bool `json:"full_child_supplement"`  // pay the Sofortzuschlag in full in partial months
}

// AccountKind is the role of an account in a booking.
type AccountKind string

// The account kinds.
const (
	AccountExpense      AccountKind = "expense"
	AccountPayable      AccountKind = "payable"
	AccountReceivable   AccountKind = "receivable"
	AccountRevenue      AccountKind = "revenue"
	AccountBankClearing AccountKind = "bank_clearing"
)

// Account is one account of a municipality's chart of accounts.
type Account struct {
	Municipality string      `json:"municipality"`
	Number       string      `json:"account"`
	Name         string      `json:"name"`
	Kind         AccountKind `json:"kind"`
	Example      bool        `json:"example"` // an invented number (demo data)
}

// AccountRule assigns an account and booking dimensions to a (law,
// component, cost bearer, kind). An empty Municipality is the county-wide
// default; Component "*" matches every component.
type AccountRule struct {
	Municipality   string      `json:"municipality,omitempty"`
	Law            Law         `json:"law"`
	Component      Component   `json:"component"`
	CostBearer     CostBearer  `json:"cost_bearer"`
	Kind           AccountKind `json:"kind"`
	Account        string      `json:"account"`
	Product        string      `json:"product"`
	CostCentre     string      `json:"cost_centre"`
	BudgetPosition string      `json:"budget_position"`
	Example        bool        `json:"example"`
}

// RoleGrant is a role of a user, with an optional limit for a single
// payment (approver only; 0 = the municipality's threshold applies).
type RoleGrant struct {
	Role  Role  `json:"role"`
	Limit Cents `json:"limit,omitempty"`
}

// User is a person (or the system) acting within one municipality.
type User struct {
	ID           int64       `json:"id,omitempty"`
	Municipality string      `json:"municipality"`
	Login        string      `json:"login"`
	DisplayName  string      `json:"display_name"`
	System       bool        `json:"system,omitempty"`
	Roles        []RoleGrant `json:"roles"`
}
