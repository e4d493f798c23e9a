package web

import (
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/payrun/payrun/payrun"
)

var funcs = template.FuncMap{
	"euro":      euro,
	"date":      germanDate,
	"time":      germanTime,
	"month":     germanMonth,
	"state":     stateName,
	"law":       lawName,
	"component": componentName,
	"bearer":    bearerName,
	"payee":     payeeName,
	"role":      roleName,
	"warning":   warningName,
	"add":       func(a, b int) int { return a + b },
	"euroText":  euroText,
	"iban":      ibanGroups,
	"fileKind":  fileKindName,
	"warnHint":  warningHint,
	"table":     tableName,
	"euroDiff":  euroDiff,
	"dict2":     func(title string, rows []sum) map[string]any { return map[string]any{"Title": title, "Rows": rows} },
}

// euro formats c the German way: "1.234,56 €", "-0,50 €".
func euro(c payrun.Cents) string {
	neg := c < 0
	u := uint64(c)
	if neg {
		u = uint64(-c)
	}
	whole := strconv.FormatUint(u/100, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	cents := u % 100
	b.WriteByte(',')
	b.WriteByte(byte('0' + cents/10))
	b.WriteByte(byte('0' + cents%10))
	b.WriteString("\u00a0€")
	return b.String()
}

// germanDate formats d as dd.mm.yyyy.
func germanDate(d payrun.Date) string {
	y, m, day := d.YMD()
	return twoDigits(day) + "." + twoDigits(int(m)) + "." + strconv.Itoa(y)
}

func germanTime(t time.Time) string {
	t = t.In(berlin())
	return t.Format("02.01.2006, 15:04") + " Uhr"
}

var monthNames = [...]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}

// germanMonth formats m as "Dezember 2026".
func germanMonth(m payrun.Month) string {
	return monthNames[m.Mon()-1] + " " + strconv.Itoa(m.Year())
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func berlin() *time.Location {
	if loc, err := time.LoadLocation("Europe/Berlin"); err == nil {
		return loc
	}
	return time.UTC
}

func stateName(s payrun.RunState) string {
	return lookup(s, map[payrun.RunState]string{
		payrun.RunProposed: "Vorgeschlagen", payrun.RunEstablished: "Festgestellt", payrun.RunReleased: "Freigegeben",
		payrun.RunExported: "Exportiert", payrun.RunCancelled: "Storniert",
	})
}

func lawName(l payrun.Law) string {
	return lookup(l, map[payrun.Law]string{
		payrun.LawAsylbLG3: "§§ 3, 3a AsylbLG (Grundleistungen)", payrun.LawAsylbLG2: "§ 2 AsylbLG (Analogleistungen)",
		payrun.LawAsylbLG1a: "§ 1a AsylbLG (Anspruchseinschränkung)", payrun.LawSGB12Ch3: "SGB XII, 3. Kapitel (Hilfe zum Lebensunterhalt)",
		payrun.LawSGB12Ch4: "SGB XII, 4. Kapitel (Grundsicherung)",
	})
}

func componentName(c payrun.Component) string {
	return lookup(c, map[payrun.Component]string{
		payrun.CompRegular: "Regelsatz", payrun.CompExtra: "Mehrbedarf", payrun.CompChildSupplement: "Sofortzuschlag",
		payrun.CompRent: "Miete", payrun.CompHeating: "Heizung", payrun.CompIncome: "Einkommen", payrun.CompOffset: "Aufrechnung",
	})
}

func bearerName(b payrun.CostBearer) string {
	return lookup(b, map[payrun.CostBearer]string{
		payrun.BearerBund: "Bund (§ 46a SGB XII)", payrun.BearerMunicipality: "Kommune", payrun.BearerFlueAG: "Kommune (FlüAG-Pauschale des Landes)",
	})
}

func payeeName(p payrun.PayeeRole) string {
	return lookup(p, map[payrun.PayeeRole]string{payrun.PayeeBeneficiary: "Leistungsberechtigte", payrun.PayeeLandlord: "Vermieter"})
}

func roleName(r payrun.Role) string {
	return lookup(r, map[payrun.Role]string{
		payrun.RoleChecker: "Feststellung (sachlich und rechnerisch richtig)", payrun.RoleApprover: "Freigabe (Anordnung)",
		payrun.RoleCashier: "Kasse", payrun.RoleAdmin: "Fachadministration", payrun.RoleRatesCounty: "Regelsätze (Kreis)",
		payrun.RoleRatesHub: "Leistungssätze (Kopfstelle)", payrun.RoleSystem: "System",
	})
}

func warningName(kind string) string {
	return lookup(kind, map[string]string{
		"first_iban": "IBAN zum ersten Mal bezahlt", "shared_iban": "Dieselbe IBAN für mehrere Fälle",
		"amount_jump": "Betrag stark verändert gegenüber Vormonat", "above_threshold": "Betrag über der Wertgrenze",
	})
}

func lookup[K ~string](k K, names map[K]string) string {
	if n, ok := names[k]; ok {
		return n
	}
	return string(k)
}

// euroText formats a decimal amount as written in a manifest ("1234.5")
// the German way; other text is returned as it is.
func euroText(s string) string {
	c, err := payrun.ParseCents(s)
	if err != nil {
		return s
	}
	return euro(c)
}

// ibanGroups writes an IBAN in groups of four characters, as printed on
// paper ("DE45 3005 0110 ...").
func ibanGroups(iban string) string {
	var b strings.Builder
	for i, r := range strings.ReplaceAll(iban, " ", "") {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func fileKindName(kind string) string {
	return lookup(kind, map[string]string{
		"pain.001": "SEPA-Überweisungsdatei für die Bank (pain.001)", "cash": "Barauszahlungen (CSV)",
		"bookings": "Buchungsdatei für die Finanzsoftware (CSV)", "bookings-json": "Buchungsdatei (JSON Lines)",
	})
}

// warningSum is one kind of a run's warnings: how many the run counted,
// how many of them are listed one by one (a municipality's first run
// counts its new IBANs without listing them) and the sum of those listed.
type warningSum struct {
	Kind   string
	Count  int64
	Listed int64
	Amount payrun.Cents
}

// warningKinds are the kinds of warnings, most urgent first.
var warningKinds = []string{"above_threshold", "amount_jump", "shared_iban", "first_iban"}

// warningHint says what to check for a kind of warning.
func warningHint(kind string) string {
	return map[string]string{
		"first_iban": "Neue Bankverbindung: Stimmt die IBAN mit der Akte überein (z. B. schriftliche Mitteilung der Person)?",
		"first_iban_first_run": "Erster Zahllauf dieser Kommune: Alle Bankverbindungen sind neu, darum keine Einzelhinweise. " +
			"Bitte Stichproben gegen die Akten prüfen; ab dem nächsten Zahllauf wird jede neue IBAN einzeln gezeigt.",
		"shared_iban":     "Mehrere Fälle zahlen auf dasselbe Konto: Ist das gewollt (z. B. Vermieter, Betreuer)?",
		"amount_jump":     "Der Betrag weicht stark vom Vormonat ab: Liegt eine Änderung im Bescheid vor?",
		"above_threshold": "Hohe Einzelzahlung: Bitte Bescheid und Berechnung ansehen.",
	}[kind]
}

func tableName(t payrun.RateTable) string {
	return lookup(t, map[payrun.RateTable]string{
		payrun.TableSGB12: "SGB XII – Regelbedarfsstufen", payrun.TableSGB2: "SGB II – Regelbedarfe",
		payrun.TableAsylbLG2: "§ 2 AsylbLG – Analogleistungen", payrun.TableAsylbLG3a: "§ 3a AsylbLG – Bedarfsstufen",
	})
}

// euroDiff formats a change with its sign: "+1.234,56 €", "-0,50 €", "±0,00 €".
func euroDiff(c payrun.Cents) string {
	switch {
	case c > 0:
		return "+" + euro(c)
	case c == 0:
		return "±" + euro(c)
	}
	return euro(c)
}
