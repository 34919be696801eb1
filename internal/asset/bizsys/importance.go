package bizsys

import "github.com/vigil-sec/vigil/internal/store"

// Importance rule. A business system implies an importance (1 low to 5
// critical) for every asset in it:
//
//  1. start from the highest of its confidentiality, integrity and
//     availability needs;
//  2. confidential data raises it to at least 4, secret data to 5;
//  3. MLPS level 3 raises it to at least 4, level 4 or 5 to 5.
//
// An asset's effective importance is the higher of its own importance and
// the highest importance its systems imply. Nothing ever lowers an
// asset's own importance.

// Implied returns the importance system b implies for its member assets.
func Implied(b store.BusinessSystem) int {
	n := max(b.Confidentiality, b.Integrity, b.Availability)
	switch b.DataSensitivity {
	case SensitivityConfidential:
		n = max(n, 4)
	case SensitivitySecret:
		n = 5
	}
	switch {
	case b.MLPSLevel >= 4:
		n = 5
	case b.MLPSLevel == 3:
		n = max(n, 4)
	}
	return min(max(n, 1), 5)
}

// Effective is an asset's importance after its business systems.
type Effective struct {
	// Importance is the effective importance, 1 to 5.
	Importance int
	// Own is the asset's own importance.
	Own int
	// SystemID and SystemName name the system that raised the importance
	// above Own, "" when none did (the first in the list on a tie).
	SystemID   string
	SystemName string
}

// Raised reports whether a system raised the importance above the asset's own.
func (e Effective) Raised() bool { return e.SystemID != "" }

// EffectiveImportance applies the importance rule to an asset of own
// importance that belongs to systems.
func EffectiveImportance(own int, systems []store.BusinessSystem) Effective {
	e := Effective{Importance: own, Own: own}
	for _, b := range systems {
		if n := Implied(b); n > e.Importance {
			e.Importance, e.SystemID, e.SystemName = n, b.ID, b.Name
		}
	}
	return e
}
