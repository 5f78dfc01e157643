UPDATE users SET name = trim(name);
