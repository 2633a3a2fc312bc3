#!/bin/sh
# Template of the native-looking solc 0.8.20 that ezkl expects at $HOME/.svm/0.8.20/solc-0.8.20.
# zoo_cli.chain.solcjs installs a copy under $ZOO_HOME/zk/home/ (a project-owned HOME, never the
# user's) with @NODE@, @SCRIPT@ and @SOLC0820@ filled in.
SOLC0820='@SOLC0820@' exec '@NODE@' '@SCRIPT@' "$@"
