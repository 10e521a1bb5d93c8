package dialog

import (
	"embed"
	"io/fs"
)

//go:embed flows/*.yaml
var flowsFS embed.FS

// Flows returns the embedded journey files (dialog/flows/*.yaml).
func Flows() fs.FS {
	sub, err := fs.Sub(flowsFS, "flows")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}
