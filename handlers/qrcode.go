package handlers

import (
	"encoding/base64"
	"fmt"
	"image/color"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// qrQuietZone is the blank margin around a QR code, in modules (the
// standard asks for four).
const qrQuietZone = 4

// qrDataURL draws text as a QR code: an SVG image in a data: URL, made here
// (no outside service sees the secret it carries) and allowed by the CSP
// (img-src data:). Dark modules on a white ground in either theme, as
// cameras read best.
func qrDataURL(text string) (string, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("handlers: qr code: %w", err)
	}
	b := code.Bounds()
	var path strings.Builder
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.GrayModel.Convert(code.At(x, y)).(color.Gray).Y < 128 {
				fmt.Fprintf(&path, "M%d %dh1v1h-1z", x-b.Min.X+qrQuietZone, y-b.Min.Y+qrQuietZone)
			}
		}
	}
	size := b.Dx() + 2*qrQuietZone
	svg := fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`+
		`<rect width="%d" height="%d" fill="#fff"/><path d="%s" fill="#000"/></svg>`, size, size, size, size, path.String())
	return "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(svg)), nil
}
