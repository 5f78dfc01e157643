a dotfile: ignored even though it ends in .sql
