from services.demo.run import main

raise SystemExit(main())
