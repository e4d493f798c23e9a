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
