package handlers

import "testing"

func TestSafeCell(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"leaves plain text alone", "mule network", "mule network"},
		{"leaves an empty cell alone", "", ""},
		{"leaves spaces alone", "   ", "   "},
		{"quotes an equals sign", "=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"},
		{"quotes a plus sign", "+1", "'+1"},
		{"quotes a minus sign", "-2+3", "'-2+3"},
		{"quotes an at sign", "@SUM(A1)", "'@SUM(A1)"},
		{"quotes a leading tab", "\t=1", "'\t=1"},
		{"quotes a leading carriage return", "\r=1", "'\r=1"},
		{"quotes a formula after leading spaces", "   =1+1", "'   =1+1"},
		{"quotes a full-width equals sign", "＝1+1", "'＝1+1"},
		{"quotes a full-width plus sign", "＋1", "'＋1"},
		{"quotes a full-width minus sign", "－1", "'－1"},
		{"quotes a full-width at sign", "＠A1", "'＠A1"},
		{"leaves a formula character later in the text alone", "a=b", "a=b"},
		{"leaves a quote alone", "'quoted", "'quoted"},
		{"does not look past a leading letter", "x\t=1", "x\t=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := safeCell(tc.in); got != tc.want {
				t.Errorf("safeCell(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if got := unsafeCell(safeCell(tc.in)); got != tc.in {
				t.Errorf("unsafeCell(safeCell(%q)) = %q, want it back", tc.in, got)
			}
		})
	}
}
