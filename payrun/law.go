package payrun

// Law is the legal basis of a decision (Leistungsart).
type Law string

// The laws a decision can be made under (CONTRACT.md §2).
const (
	LawAsylbLG3  Law = "asylblg_3"  // §§ 3, 3a AsylbLG basic benefits (AsylbLG § 3a table)
	LawAsylbLG2  Law = "asylblg_2"  // § 2 AsylbLG analogous benefits (SGB XII rates)
	LawAsylbLG1a Law = "asylblg_1a" // § 1a AsylbLG reduced benefits (fixed amounts per person)
	LawSGB12Ch3  Law = "sgb12_3"    // SGB XII chapter 3, Hilfe zum Lebensunterhalt
	LawSGB12Ch4  Law = "sgb12_4"    // SGB XII chapter 4, Grundsicherung im Alter und bei Erwerbsminderung
)

// Laws lists every law in a fixed order (for reports and validation).
var Laws = []Law{LawAsylbLG3, LawAsylbLG2, LawAsylbLG1a, LawSGB12Ch3, LawSGB12Ch4}

// Valid reports whether l is one of Laws.
func (l Law) Valid() bool {
	switch l {
	case LawAsylbLG3, LawAsylbLG2, LawAsylbLG1a, LawSGB12Ch3, LawSGB12Ch4:
		return true
	}
	return false
}

// IsAsylbLG reports whether l is one of the AsylbLG laws.
func (l Law) IsAsylbLG() bool {
	return l == LawAsylbLG3 || l == LawAsylbLG2 || l == LawAsylbLG1a
}

// RateTable is the name of a central rate table (rates.csv's law column).
type RateTable string

// The central rate tables. SGB_II is kept for completeness; no law of payrun
// uses it yet.
const (
	TableSGB12     RateTable = "SGB_XII"    // Regelbedarfsstufen, Anlage zu § 28 SGB XII
	TableSGB2      RateTable = "SGB_II"     // Regelbedarfe, § 20 SGB II
	TableAsylbLG2  RateTable = "AsylbLG_2"  // § 2 AsylbLG: the SGB XII amounts
	TableAsylbLG3a RateTable = "AsylbLG_3a" // § 3a AsylbLG Bedarfsstufen
)

// RateTables lists every table.
var RateTables = []RateTable{TableSGB12, TableSGB2, TableAsylbLG2, TableAsylbLG3a}

// RateTable returns the table whose rates apply under l, or "" for
// asylblg_1a, which uses fixed amounts per person.
func (l Law) RateTable() RateTable {
	switch l {
	case LawAsylbLG3:
		return TableAsylbLG3a
	case LawAsylbLG2:
		return TableAsylbLG2
	case LawSGB12Ch3, LawSGB12Ch4:
		return TableSGB12
	}
	return ""
}

// OwnerRole returns the role that may edit table t: the county owns the
// SGB XII and § 2 AsylbLG rates, the Kopfstelle (hub) the § 3a AsylbLG rates.
func (t RateTable) OwnerRole() Role {
	if t == TableAsylbLG3a {
		return RoleRatesHub
	}
	return RoleRatesCounty
}

// Valid reports whether t is one of RateTables.
func (t RateTable) Valid() bool {
	for _, x := range RateTables {
		if x == t {
			return true
		}
	}
	return false
}

// Rate is one row of a central rate table: the monthly amount of a needs
// level from ValidFrom until the next row of the same table and level.
type Rate struct {
	Table      RateTable `json:"table"`
	NeedsLevel int       `json:"needs_level"`
	ValidFrom  Date      `json:"valid_from"`
	Amount     Cents     `json:"amount"`
}

// ChildSupplement is one row of the Sofortzuschlag table: the flat monthly
// amount per minor from ValidFrom on.
type ChildSupplement struct {
	ValidFrom Date  `json:"valid_from"`
	Amount    Cents `json:"amount"`
}

// Component is a part of a month's amount, kept on every line for the
// bookings.
type Component string

// The components of CONTRACT.md §3, plus Offset for the amount set off
// against a reclaim (negative on a line).
const (
	CompRegular         Component = "regular"
	CompExtra           Component = "extra"
	CompChildSupplement Component = "child_supplement"
	CompRent            Component = "rent"
	CompHeating         Component = "heating"
	CompIncome          Component = "income"
	CompOffset          Component = "offset"
)

// Components lists the components in the order of CONTRACT.md §3.
var Components = []Component{CompRegular, CompExtra, CompChildSupplement, CompRent, CompHeating, CompIncome, CompOffset}

// CostBearer says who finally pays a component (DOMAIN.md §7).
type CostBearer string

// The cost bearers.
const (
	BearerBund         CostBearer = "bund_46a"     // SGB XII ch. 4 cash benefits, refunded by the Bund (§ 46a SGB XII)
	BearerMunicipality CostBearer = "municipality" // SGB XII ch. 3
	BearerFlueAG       CostBearer = "fluag"        // AsylbLG: the municipality, with the Land's lump sum (§ 4 FlüAG NRW)
)

// CostBearer returns who pays benefits under l.
func (l Law) CostBearer() CostBearer {
	switch l {
	case LawSGB12Ch4:
		return BearerBund
	case LawSGB12Ch3:
		return BearerMunicipality
	}
	return BearerFlueAG
}

// PayeeRole says to whom a line is paid within a case.
type PayeeRole string

// The payee roles.
const (
	PayeeBeneficiary PayeeRole = "beneficiary"
	PayeeLandlord    PayeeRole = "landlord"
)

// Channel is how a payee receives money.
type Channel string

// The payment channels (CONTRACT.md §2).
const (
	ChannelSEPA Channel = "sepa" // credit transfer to the payee's IBAN
	ChannelCard Channel = "card" // credit transfer to the payment card's account
	ChannelCash Channel = "cash" // payout order with a voucher, no IBAN
)
