package payrun

import (
	"fmt"
	"slices"
	"testing"
)

// TestValidateFieldNames: each problem of a person, an extra need or a
// supersedes entry is reported once, in order, with the field name and
// value the import's error list shows.
func TestValidateFieldNames(t *testing.T) {
	amount := Cents(-5)
	valid := func() Decision {
		bic := "DEUTDEFFXXX"
		return Decision{Municipality: "unna", DecisionID: "D-1", CaseID: "C-1", Law: LawSGB12Ch3,
			ValidFrom: NewDate(2026, 1, 1),
			Persons: []Person{{PersonID: "p1", Name: "A", BirthDate: NewDate(1980, 1, 1), NeedsLevel: 1},
				{PersonID: "p2", Name: "B", BirthDate: NewDate(1990, 1, 1), NeedsLevel: 2}},
			Payee: Payee{Channel: ChannelSEPA, Name: "A", IBAN: "DE89370400440532013000", BIC: &bic}}
	}
	for _, tc := range []struct {
		name string
		edit func(d *Decision)
		want []string // field=value
	}{
		{"valid", func(*Decision) {}, nil},
		{"person id missing and duplicate", func(d *Decision) {
			d.Persons[0].PersonID = ""
			d.Persons = append(d.Persons, Person{PersonID: "p2", Name: "C", BirthDate: NewDate(2000, 1, 1), NeedsLevel: 3})
		}, []string{"persons[0].person_id=", "persons[2].person_id=p2"}},
		{"name, birth date, needs level", func(d *Decision) {
			d.Persons[1].Name = ""
			d.Persons[1].BirthDate = NewDate(1800, 1, 1)
			d.Persons[1].NeedsLevel = 7
			d.Persons[1].FixedAmount = &amount
		}, []string{"persons[1].name=", "persons[1].birth_date=1800-01-01", "persons[1].needs_level=7", "persons[1].fixed_amount=-0.05"}},
		{"asylblg_1a", func(d *Decision) {
			d.Law = LawAsylbLG1a
			d.Persons[0].NeedsLevel = 0
			d.Persons[0].FixedAmount = &amount
		}, []string{"persons[0].fixed_amount=-0.05", "persons[1].needs_level=2", "persons[1].fixed_amount="}},
		{"extra needs", func(d *Decision) {
			d.Persons[1].ExtraNeeds = []ExtraNeed{{Kind: ExtraFixed, Percent: 5}, {Kind: ExtraPregnancy, Amount: 3}, {Kind: "x"}}
		}, []string{"persons[1].extra_needs[0].amount=0.00", "persons[1].extra_needs[0].percent=0.05",
			"persons[1].extra_needs[1].percent=0.00", "persons[1].extra_needs[1].amount=0.03", "persons[1].extra_needs[2].kind=x"}},
		{"supersedes", func(d *Decision) { d.Supersedes = []string{"D-0", "D-1", "ä"} },
			[]string{"supersedes[1]=D-1", "supersedes[2]=ä"}},
	} {
		d := valid()
		tc.edit(&d)
		var got []string
		for _, e := range d.Validate() {
			if e.Record != d.DecisionID {
				t.Errorf("%s: record %q", tc.name, e.Record)
			}
			got = append(got, fmt.Sprintf("%s=%s", e.Field, e.Value))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: errors %q, want %q", tc.name, got, tc.want)
		}
	}
}
