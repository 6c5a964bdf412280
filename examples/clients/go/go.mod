module blinkstore.dev/client

go 1.19
