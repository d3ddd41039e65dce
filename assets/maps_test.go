package assets

import (
	"encoding/json"
	"io/fs"
	"math"
	"testing"
)

// No edge of the world map runs across it: a country over longitude 180
// (Fiji, Russia) is cut there (gen_maps.go), or ECharts draws its edge from
// 179° to -180° as a line over the whole map. Antarctica's ring goes round
// the pole, and its edge along the bottom is its own.
func TestWorldMapHasNoEdgeAcrossIt(t *testing.T) {
	b, err := fs.ReadFile(FS, "world.geo.json")
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			Properties struct{ Name string }
			Geometry   struct {
				Type        string
				Coordinates json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatal(err)
	}
	for _, f := range fc.Features {
		var polys [][][][2]float64
		if f.Geometry.Type == "Polygon" {
			var p [][][2]float64
			err = json.Unmarshal(f.Geometry.Coordinates, &p)
			polys = append(polys, p)
		} else {
			err = json.Unmarshal(f.Geometry.Coordinates, &polys)
		}
		if err != nil {
			t.Fatalf("%s: %v", f.Properties.Name, err)
		}
		for _, poly := range polys {
			for _, ring := range poly {
				for i := 1; i < len(ring); i++ {
					a, b := ring[i-1], ring[i]
					if math.Abs(a[0]-b[0]) > 180 && !(f.Properties.Name == "AQ" && a[1] == b[1] && a[1] < -80) {
						t.Errorf("%s: edge %v → %v runs across the map", f.Properties.Name, a, b)
					}
				}
			}
		}
	}
}
