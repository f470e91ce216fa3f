from otodoke.cli import main

raise SystemExit(main())
