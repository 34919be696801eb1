package vuln

// Layers a finding can be placed in. Importers set Finding.Layer when the
// format says which one applies (a failed configuration rule, a missing
// OS security update, a web application issue, an open port); when it is
// empty the lifecycle derives one from the asset fields.
const (
	LayerNetwork       = "network"
	LayerOS            = "os"
	LayerApplication   = "application"
	LayerConfiguration = "configuration"
)
