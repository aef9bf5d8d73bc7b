module github.com/credvault/credvault/sdk/go

go 1.23
