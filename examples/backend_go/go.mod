module blinkstore.dev/examples/backend

go 1.19

require blinkstore.dev/client v0.0.0

replace blinkstore.dev/client => ../clients/go
