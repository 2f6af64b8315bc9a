package query_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/hookshot-dev/hookshot/internal/api/query"
)

type hookSource struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	SourceType string `json:"sourceType"`
}

func Example() {
	sources := []hookSource{ // sorted by ID
		{ID: "2d6154dd", Name: "Payroll script", SourceType: "script"},
		{ID: "682fe9d2", Name: "NetApp preloaded", SourceType: "script"},
		{ID: "9b1a05c3", Name: "Freeze tool", SourceType: "binary"},
		{ID: "b71c6793", Name: "Payroll script", SourceType: "script"},
	}
	items, err := query.Fields(sources)
	if err != nil {
		fmt.Println(err)
		return
	}

	raw := "filter=sourceType%20eq%20'script'&include=name,id&limit=2"
	for {
		q, _ := url.ParseQuery(raw)
		p, err := query.Parse(q)
		if err != nil {
			fmt.Println(err)
			return
		}
		page, err := query.Apply(items, p)
		if err != nil {
			fmt.Println(err)
			return
		}
		out, _ := json.Marshal(page.Items)
		fmt.Printf("%s count=%d more=%t\n", out, page.Count, page.Continue != "")
		if page.Continue == "" {
			break
		}
		q.Set("continue", page.Continue)
		raw = q.Encode()
	}
	// Output:
	// [["Payroll script","2d6154dd"],["NetApp preloaded","682fe9d2"]] count=3 more=true
	// [["Payroll script","b71c6793"]] count=3 more=false
}

func ExampleParse_error() {
	q, _ := url.ParseQuery("limit=0&filter=name%20ne%20'x'&include=id")
	_, err := query.Parse(q)
	var e *query.Error
	if errors.As(err, &e) {
		fmt.Println("problem", e.Problem)
		out, _ := json.Marshal(e.Params)
		fmt.Println(string(out))
	}
	// Output:
	// problem 5
	// [{"name":"limit","reason":"\"0\" is not a positive integer (^([1-9][0-9]*)$)"},{"name":"filter","reason":"\"name ne 'x'\" at offset 5: unknown operator \"ne\" (want eq, lt, gt, lte, gte or in)"}]
}
