package store

import (
	"testing"

	"github.com/payrun/payrun/payrun"
)

// TestDecodePayee: the fields of a payee row land in their places (empty
// ones too), the channel is its constant, a NULL or a missing column is an
// error.
func TestDecodePayee(t *testing.T) {
	raw := [][]byte{[]byte("C-1"), []byte("D-1"), []byte("sepa"), []byte("Amina Haddad"), []byte("DE89370400440532013000"),
		[]byte(""), []byte("Wohnbau Lünen GmbH"), []byte("DE02120300000000202051"), []byte("BYLADEM1001"), []byte("Whg 12")}
	var p ExportPayee
	if _, err := decodePayee(raw, nil, &p); err != nil {
		t.Fatal(err)
	}
	want := ExportPayee{CaseID: "C-1", DecisionID: "D-1", Channel: payrun.ChannelSEPA, Name: "Amina Haddad",
		IBAN: "DE89370400440532013000", LandlordName: "Wohnbau Lünen GmbH", LandlordIBAN: "DE02120300000000202051",
		LandlordBIC: "BYLADEM1001", LandlordReference: "Whg 12"}
	if p != want {
		t.Errorf("payee\n got %+v\nwant %+v", p, want)
	}
	raw[5] = nil
	if _, err := decodePayee(raw, nil, &p); err == nil {
		t.Error("a NULL column was accepted")
	}
	if _, err := decodePayee(raw[:9], nil, &p); err == nil {
		t.Error("9 columns were accepted")
	}
}
