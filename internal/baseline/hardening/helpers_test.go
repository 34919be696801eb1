package hardening_test

import (
	"fmt"

	"github.com/vigil-sec/vigil/internal/asset"
)

func fmtFloat(v float64) string { return fmt.Sprintf("%.2f", v) }

func assetInput(name string) asset.Input {
	return asset.Input{Kind: "host", Name: name, Address: "10.0.0.9", Importance: 3}
}

func assetInputAt(name, addr string) asset.Input {
	return asset.Input{Kind: "host", Name: name, Address: addr, Importance: 3}
}
