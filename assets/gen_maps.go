//go:build ignore

// gen_maps writes the dashboard's map geometry, world.geo.json and
// us-states.geo.json, from the TopoJSON of the npm packages world-atlas
// 2.0.2 (countries-110m.json, Natural Earth 1:110m, public domain) and
// us-atlas 3.0.1 (states-albers-10m.json, US Census Bureau cartographic
// boundaries, public domain, already projected with Albers USA). ECharts'
// registerMap takes GeoJSON, so this decodes the topology (delta-encoded,
// quantized arcs) into plain polygons, rounds coordinates, and names each
// feature by its ISO code: alpha-2 for a country (from its numeric id and
// Debian's iso-codes list), ISO 3166-2 for a state (from its FIPS code).
// The Albers coordinates are screen pixels (y down): y is negated so that
// the map stands upright. Run:
//
//	npm pack world-atlas@2.0.2 us-atlas@3.0.1   # in a scratch directory
//	go run assets/gen_maps.go -world DIR/world/countries-110m.json -us DIR/us/states-albers-10m.json
package main

import (
	"encoding/json"
	"flag"
	"log"
	"math"
	"os"
)

type topology struct {
	Transform *struct {
		Scale     [2]float64 `json:"scale"`
		Translate [2]float64 `json:"translate"`
	} `json:"transform"`
	Arcs    [][][2]float64 `json:"arcs"`
	Objects map[string]struct {
		Geometries []struct {
			Type       string            `json:"type"`
			ID         string            `json:"id"`
			Arcs       json.RawMessage   `json:"arcs"`
			Properties map[string]string `json:"properties"`
		} `json:"geometries"`
	} `json:"objects"`
}

type feature struct {
	Type       string            `json:"type"`
	Properties map[string]string `json:"properties"`
	Geometry   struct {
		Type        string `json:"type"`
		Coordinates any    `json:"coordinates"`
	} `json:"geometry"`
}

var fips = map[string]string{"01": "AL", "02": "AK", "04": "AZ", "05": "AR", "06": "CA", "08": "CO", "09": "CT", "10": "DE",
	"11": "DC", "12": "FL", "13": "GA", "15": "HI", "16": "ID", "17": "IL", "18": "IN", "19": "IA", "20": "KS", "21": "KY",
	"22": "LA", "23": "ME", "24": "MD", "25": "MA", "26": "MI", "27": "MN", "28": "MS", "29": "MO", "30": "MT", "31": "NE",
	"32": "NV", "33": "NH", "34": "NJ", "35": "NM", "36": "NY", "37": "NC", "38": "ND", "39": "OH", "40": "OK", "41": "OR",
	"42": "PA", "44": "RI", "45": "SC", "46": "SD", "47": "TN", "48": "TX", "49": "UT", "50": "VT", "51": "VA", "53": "WA",
	"54": "WV", "55": "WI", "56": "WY", "60": "AS", "66": "GU", "69": "MP", "72": "PR", "78": "VI"}

func main() {
	world := flag.String("world", "", "countries-110m.json of world-atlas")
	us := flag.String("us", "", "states-albers-10m.json of us-atlas")
	flag.Parse()
	var iso struct {
		List []struct {
			Alpha2  string `json:"alpha_2"`
			Numeric string `json:"numeric"`
		} `json:"3166-1"`
	}
	readJSON("/usr/share/iso-codes/json/iso_3166-1.json", &iso)
	numeric := map[string]string{}
	for _, c := range iso.List {
		numeric[c.Numeric] = c.Alpha2
	}
	convert(*world, "countries", "assets/world.geo.json", 100, false, func(id string, p map[string]string) string { return numeric[id] })
	convert(*us, "states", "assets/us-states.geo.json", 2, true, func(id string, p map[string]string) string {
		if s, ok := fips[id]; ok {
			return "US-" + s
		}
		return ""
	})
}

func convert(in, object, out string, precision float64, flipY bool, code func(id string, p map[string]string) string) {
	var topo topology
	readJSON(in, &topo)
	arcs := make([][][2]float64, len(topo.Arcs))
	for i, a := range topo.Arcs {
		var x, y float64
		pts := make([][2]float64, len(a))
		for j, p := range a {
			if topo.Transform != nil {
				x, y = x+p[0], y+p[1]
				pts[j] = [2]float64{x*topo.Transform.Scale[0] + topo.Transform.Translate[0], y*topo.Transform.Scale[1] + topo.Transform.Translate[1]}
			} else {
				pts[j] = p
			}
		}
		arcs[i] = pts
	}
	round := func(v float64) float64 { return math.Round(v*precision) / precision }
	ring := func(idx []int) [][2]float64 {
		var out [][2]float64
		for k, i := range idx {
			var pts [][2]float64
			if i >= 0 {
				pts = arcs[i]
			} else {
				src := arcs[^i]
				pts = make([][2]float64, len(src))
				for j := range src {
					pts[j] = src[len(src)-1-j]
				}
			}
			if k > 0 {
				pts = pts[1:]
			}
			for _, p := range pts {
				q := [2]float64{round(p[0]), round(p[1])}
				if flipY {
					q[1] = -q[1]
				}
				if n := len(out); n > 0 && out[n-1] == q {
					continue
				}
				out = append(out, q)
			}
		}
		return out
	}
	var fc struct {
		Type     string    `json:"type"`
		Features []feature `json:"features"`
	}
	fc.Type = "FeatureCollection"
	for _, g := range topo.Objects[object].Geometries {
		c := code(g.ID, g.Properties)
		if c == "" {
			continue
		}
		f := feature{Type: "Feature", Properties: map[string]string{"name": c, "label": g.Properties["name"]}}
		f.Geometry.Type = g.Type
		var polys [][][]int
		switch g.Type {
		case "Polygon":
			var rings [][]int
			must(json.Unmarshal(g.Arcs, &rings))
			polys = [][][]int{rings}
		case "MultiPolygon":
			must(json.Unmarshal(g.Arcs, &polys))
		default:
			continue
		}
		var multi [][][][2]float64
		for _, rings := range polys {
			var poly [][][2]float64
			for _, r := range rings {
				poly = append(poly, ring(r))
			}
			if !flipY {
				multi = append(multi, splitAntimeridian(poly)...)
			} else {
				multi = append(multi, poly)
			}
		}
		if len(multi) == 1 {
			f.Geometry.Type, f.Geometry.Coordinates = "Polygon", multi[0]
		} else {
			f.Geometry.Type, f.Geometry.Coordinates = "MultiPolygon", multi
		}
		fc.Features = append(fc.Features, f)
	}
	b, err := json.Marshal(fc)
	must(err)
	must(os.WriteFile(out, b, 0o644))
	log.Printf("%s: %d features, %d bytes", out, len(fc.Features), len(b))
}

// splitAntimeridian cuts a polygon whose outer ring crosses longitude 180
// (Fiji, Russia's far east) into its part east of -180 and its part west
// of 180: drawn as it comes, its edge from 179° to -180° ran across the
// whole map. A ring that goes round a pole (Antarctica: unwrapped, it ends
// 360° from where it began) is left as it is, as are its holes.
func splitAntimeridian(poly [][][2]float64) [][][][2]float64 {
	outer := poly[0]
	u := make([][2]float64, len(outer))
	u[0] = outer[0]
	crosses := false
	for i := 1; i < len(outer); i++ {
		x := outer[i][0]
		for x-u[i-1][0] > 180 {
			x, crosses = x-360, true
		}
		for u[i-1][0]-x > 180 {
			x, crosses = x+360, true
		}
		u[i] = [2]float64{x, outer[i][1]}
	}
	if !crosses || math.Abs(u[len(u)-1][0]-u[0][0]) > 180 {
		return [][][][2]float64{poly}
	}
	// u is continuous and lies across one of the meridians ±180: clamp it
	// to that meridian, and clamp its copy 360° over to the other one.
	shift, edge := -360.0, 180.0
	for _, p := range u {
		if p[0] < -180 {
			shift, edge = 360, -180
		}
	}
	clamp := func(off, at float64) [][2]float64 {
		var out [][2]float64
		for _, p := range u {
			x := p[0] + off
			if (at > 0 && x > at) || (at < 0 && x < at) {
				x = at
			}
			// Points clamped one after another onto the meridian make a
			// straight edge: its ends are enough.
			if n := len(out); n >= 2 && x == at && out[n-1][0] == at && out[n-2][0] == at {
				out[n-1] = [2]float64{x, p[1]}
				continue
			}
			out = append(out, [2]float64{x, p[1]})
		}
		return out
	}
	return [][][][2]float64{{clamp(0, edge)}, {clamp(shift, -edge)}}
}

func readJSON(path string, v any) {
	b, err := os.ReadFile(path)
	must(err)
	must(json.Unmarshal(b, v))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
