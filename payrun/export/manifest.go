package export

import "encoding/json"

// File kinds in the manifest.
const (
	KindPain001      = "pain.001"
	KindCash         = "cash"
	KindBookings     = "bookings"      // the CSV in the municipality's layout
	KindBookingsJSON = "bookings-json" // the same journal as JSON
)

// Manifest is manifest.json (CONTRACT.md §4).
type Manifest struct {
	Run           string `json:"run"`
	Municipality  string `json:"municipality"`
	Period        string `json:"period"`
	ExecutionDate string `json:"execution_date"`
	Files         []File `json:"files"`
}

// File is one file of the export. Transactions and Total are set for
// pain.001 and cash files, Lines for booking files.
type File struct {
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	SHA256       string `json:"sha256"`
	Transactions int    `json:"transactions,omitempty"`
	Lines        int64  `json:"lines,omitempty"`
	Total        string `json:"total,omitempty"`
}

// encode returns the manifest as indented JSON with a final newline.
func (m *Manifest) encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
