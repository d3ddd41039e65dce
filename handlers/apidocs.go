package handlers

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/views"
)

// openAPI is the API's OpenAPI 3.1 document; a test checks it describes every route.
//
//go:embed openapi.json
var openAPI []byte

type oaSchema struct {
	Ref         string              `json:"$ref"`
	Type        string              `json:"type"`
	Description string              `json:"description"`
	Enum        []string            `json:"enum"`
	Required    []string            `json:"required"`
	Properties  map[string]oaSchema `json:"properties"`
	Items       *oaSchema           `json:"items"`
	AllOf       []oaSchema          `json:"allOf"`
}

type oaDoc struct {
	Info struct {
		Title       string `json:"title"`
		Description string `json:"description"`
	} `json:"info"`
	Paths map[string]map[string]struct {
		OperationID string `json:"operationId"`
		Summary     string `json:"summary"`
		Description string `json:"description"`
		Parameters  []struct {
			Name        string `json:"name"`
			In          string `json:"in"`
			Description string `json:"description"`
		} `json:"parameters"`
		RequestBody *struct {
			Content map[string]struct {
				Schema oaSchema `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
		Responses map[string]struct {
			Ref         string `json:"$ref"`
			Description string `json:"description"`
		} `json:"responses"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]oaSchema `json:"schemas"`
	} `json:"components"`
}

// apiDocsProps is computed once from the embedded document.
var apiDocsProps = func() views.APIDocsProps {
	var doc oaDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		panic(fmt.Sprintf("handlers: openapi.json: %v", err))
	}
	p := views.APIDocsProps{Title: doc.Info.Title, Description: doc.Info.Description}
	paths := make([]string, 0, len(doc.Paths))
	for path := range doc.Paths {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		for method, op := range doc.Paths[path] {
			o := views.APIOperation{Method: strings.ToUpper(method), Path: path, Summary: op.Summary, Description: op.Description}
			for _, prm := range op.Parameters {
				o.Params = append(o.Params, views.APIField{Name: prm.Name, Type: prm.In, Description: prm.Description})
			}
			if op.RequestBody != nil {
				for _, c := range op.RequestBody.Content {
					o.Body = refName(c.Schema.Ref)
				}
			}
			codes := make([]string, 0, len(op.Responses))
			for code := range op.Responses {
				codes = append(codes, code)
			}
			sort.Strings(codes)
			for _, code := range codes {
				r := op.Responses[code]
				desc := r.Description
				if r.Ref != "" {
					desc = "problem details (" + http.StatusText(atoi(code)) + ")"
				}
				o.Responses = append(o.Responses, views.APIField{Name: code, Description: desc})
			}
			p.Operations = append(p.Operations, o)
		}
	}
	names := make([]string, 0, len(doc.Components.Schemas))
	for n := range doc.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p.Schemas = append(p.Schemas, views.APISchema{Name: n, Fields: fieldsOf(doc.Components.Schemas[n])})
	}
	return p
}()

func refName(ref string) string { return strings.TrimPrefix(ref, "#/components/schemas/") }

func atoi(s string) int {
	n := 0
	fmt.Sscanf(s, "%d", &n)
	return n
}

func typeOf(s oaSchema) string {
	switch {
	case s.Ref != "":
		return refName(s.Ref)
	case s.Type == "array" && s.Items != nil:
		return "array of " + typeOf(*s.Items)
	case len(s.Enum) > 0:
		return strings.Join(s.Enum, " | ")
	}
	return s.Type
}

func fieldsOf(s oaSchema) []views.APIField {
	var out []views.APIField
	for _, part := range s.AllOf {
		if part.Ref != "" {
			out = append(out, views.APIField{Name: "…", Type: "all fields of " + refName(part.Ref)})
		}
		out = append(out, fieldsOf(part)...)
	}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	req := map[string]bool{}
	for _, r := range s.Required {
		req[r] = true
	}
	for _, n := range names {
		f := s.Properties[n]
		out = append(out, views.APIField{Name: n, Type: typeOf(f), Description: f.Description, Required: req[n]})
	}
	return out
}

// OpenAPI serves the OpenAPI document.
func (s *Server) OpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", openAPI)
}

// APIDocs renders the OpenAPI document as a page.
func (s *Server) APIDocs(c echo.Context) error {
	return render(c, http.StatusOK, views.APIDocsPage(apiDocsProps), nil)
}
