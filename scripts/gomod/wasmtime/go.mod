// Fetches the wasmtime C API (headers + static library) that ships inside
// wasmtime-go, through the Go module proxy with checksums.
module wasmlet.local/wasmtime

go 1.24.0

require github.com/bytecodealliance/wasmtime-go/v39 v39.0.1
