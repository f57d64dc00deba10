"""Programs both editor tests run: saved run configurations (`args`), watch mode (`watched`) and a
program that runs until it is stopped (`forever`)."""

SHARED_PROGRAMS = {
    "args/main.go": """
        package main

        import (
        	"fmt"
        	"os"
        )

        func main() {
        	wd, _ := os.Getwd()
        	fmt.Printf("args=%q greeting=%s wd=%s\\n", os.Args[1:], os.Getenv("GREETING"), wd)
        }
        """,
    "data/.keep": "",
    "watched/main.go": """
        package main

        import (
        	"fmt"
        	"time"
        )

        func main() {
        	fmt.Println("tick v1")
        	time.Sleep(time.Hour)
        }
        """,
    "forever/main.go": """
        package main

        import (
        	"fmt"
        	"time"
        )

        func main() {
        	fmt.Println("running")
        	for {
        		time.Sleep(time.Second)
        	}
        }
        """,
}
