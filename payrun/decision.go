package payrun

// Decision is an approved, immutable statement of entitlement (Bescheid) as
// imported (CONTRACT.md §2). Amounts are Cents, dates Date.
type Decision struct {
	Municipality    string    `json:"municipality"`
	DecisionID      string    `json:"decision_id"`
	CaseID          string    `json:"case_id"`
	Supersedes      []string  `json:"supersedes,omitempty"`
	Law             Law       `json:"law"`
	ValidFrom       Date      `json:"valid_from"`
	ValidTo         *Date     `json:"valid_to"`
	Persons         []Person  `json:"persons"`
	Housing         *Housing  `json:"housing,omitempty"`
	CountableIncome Cents     `json:"countable_income"`
	Payee           Payee     `json:"payee"`
	Landlord        *Landlord `json:"landlord,omitempty"`
	Offset          *Offset   `json:"offset,omitempty"`
}

// End returns the last day the decision covers by itself (before
// supersession), NoDate when open-ended.
func (d *Decision) End() Date {
	if d.ValidTo == nil {
		return NoDate
	}
	return *d.ValidTo
}

// Person is a member of the household of a decision.
type Person struct {
	PersonID    string      `json:"person_id"`
	Name        string      `json:"name"`
	BirthDate   Date        `json:"birth_date"`
	NeedsLevel  int         `json:"needs_level,omitempty"`  // 1–6; 0 under asylblg_1a
	FixedAmount *Cents      `json:"fixed_amount,omitempty"` // asylblg_1a only
	ExtraNeeds  []ExtraNeed `json:"extra_needs,omitempty"`
}

// ExtraNeedKind is the kind of a Mehrbedarf.
type ExtraNeedKind string

// The kinds of extra needs (CONTRACT.md §2).
const (
	ExtraSingleParent ExtraNeedKind = "single_parent" // percent of needs level 1
	ExtraPregnancy    ExtraNeedKind = "pregnancy"     // percent of the person's own level
	ExtraDisability   ExtraNeedKind = "disability"    // percent of the person's own level
	ExtraWarmWater    ExtraNeedKind = "warm_water"    // percent of the person's own level
	ExtraFixed        ExtraNeedKind = "fixed"         // a fixed amount
)

// ExtraNeed is one Mehrbedarf of a person: a percentage or a fixed amount.
type ExtraNeed struct {
	Kind    ExtraNeedKind `json:"kind"`
	Percent Percent       `json:"percent,omitempty"`
	Amount  Cents         `json:"amount,omitempty"`
}

// PayTo says who receives the housing costs.
type PayTo string

// The receivers of housing costs.
const (
	PayToBeneficiary PayTo = "beneficiary"
	PayToLandlord    PayTo = "landlord"
)

// Housing holds the monthly housing costs of a decision.
type Housing struct {
	Rent    Cents `json:"rent"`
	Heating Cents `json:"heating"`
	PayTo   PayTo `json:"pay_to"`
}

// Payee is the account (or cash voucher) the beneficiary is paid to.
type Payee struct {
	Channel Channel `json:"channel"`
	Name    string  `json:"name"`
	IBAN    string  `json:"iban,omitempty"`
	BIC     *string `json:"bic"`
}

// Landlord receives rent and heating when Housing.PayTo is landlord.
type Landlord struct {
	Name      string  `json:"name"`
	IBAN      string  `json:"iban"`
	BIC       *string `json:"bic,omitempty"`
	Reference string  `json:"reference,omitempty"`
}

// Offset sets off a reclaim against the running payments (Aufrechnung).
type Offset struct {
	ReclaimID string `json:"reclaim_id"`
	Monthly   Cents  `json:"monthly"`
	Remaining Cents  `json:"remaining"`
}
