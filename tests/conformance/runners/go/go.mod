module github.com/wsprune/wsprune/tests/conformance/runners/go

go 1.22

require github.com/wsprune/wsprune/bindings/go v0.0.0

replace github.com/wsprune/wsprune/bindings/go => ../../../../bindings/go
