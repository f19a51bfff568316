module github.com/wsprune/wsprune/bindings/go

go 1.22
