from replay._cli import main

raise SystemExit(main())
