package query

import "testing"

func TestParseNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		given  string
		want   float64
		wantOK bool
	}{
		{name: "integer", given: "10", want: 10, wantOK: true},
		{name: "zero", given: "0", want: 0, wantOK: true},
		{name: "negative fraction", given: "-0.5", want: -0.5, wantOK: true},
		{name: "exponent", given: "1E+3", want: 1000, wantOK: true},
		{name: "leading zero", given: "007"},
		{name: "leading zero fraction", given: "00.5"},
		{name: "plus sign", given: "+1"},
		{name: "bare fraction", given: ".5"},
		{name: "trailing dot", given: "1."},
		{name: "NaN", given: "NaN"},
		{name: "Inf", given: "Inf"},
		{name: "hex", given: "0x10"},
		{name: "underscore", given: "1_000"},
		{name: "out of range", given: "1e400"},
		{name: "empty", given: ""},
		{name: "minus", given: "-"},
		{name: "timestamp", given: "2020-08-06"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parseNumber(tt.given)
			if ok != tt.wantOK || got != tt.want {
				t.Fatalf("parseNumber(%q) = %v, %v; want %v, %v", tt.given, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
