-- wrk script for benches/load.sh: every request is a POST of the file named by $WRK_BODY_FILE.
-- Headers (Authorization, Content-Type) come from wrk's -H options.
local file = assert(io.open(assert(os.getenv("WRK_BODY_FILE"), "WRK_BODY_FILE is not set"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
