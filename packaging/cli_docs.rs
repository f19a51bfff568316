// The man pages and shell completions of `make dist`, generated from the
// tool's clap definition. packaging/cli-docs.sh appends this to a copy of
// src/bin/wsprune/main.rs (whose own `main` it renames), so it sees the
// same `Cli` the tool parses, with every subcommand the tool has; it is
// built in target/, never a second binary of the package.
//
// Usage: cli-docs OUT_DIR  (writes OUT_DIR/man1/*.1 and OUT_DIR/completions/)

fn main() {
    let out = std::path::PathBuf::from(std::env::args_os().nth(1).expect("usage: cli-docs OUT_DIR"));
    let man_dir = out.join("man1");
    let completions = out.join("completions");
    std::fs::create_dir_all(&man_dir).expect("create man1/");
    std::fs::create_dir_all(&completions).expect("create completions/");
    let mut cmd = <Cli as clap::CommandFactory>::command();
    cmd.build();
    // wsprune.1, then wsprune-<subcommand>.1 for each subcommand and
    // wsprune-<subcommand>-<subsubcommand>.1 for each nested one (git's way).
    write_man(&man_dir, "wsprune", cmd.clone());
    write_subcommand_pages(&man_dir, &cmd, "wsprune", "wsprune");
    use clap_complete::Shell;
    for (shell, file) in [(Shell::Bash, "wsprune"), (Shell::Zsh, "_wsprune"), (Shell::Fish, "wsprune.fish")] {
        let mut f = std::fs::File::create(completions.join(file)).expect("create completion file");
        clap_complete::generate(shell, &mut cmd, "wsprune", &mut f);
    }
}

/// One page for each visible subcommand of `cmd`, then its own subcommands.
/// make test-dist requires a page for every command the tool's --help lists.
fn write_subcommand_pages(dir: &std::path::Path, cmd: &clap::Command, page_prefix: &str, bin_prefix: &str) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        let page_name = format!("{page_prefix}-{}", sub.get_name());
        let bin_name = format!("{bin_prefix} {}", sub.get_name());
        // clap without its `string` feature (as the tool is built) names
        // commands with &'static str: the generator runs once, so leak.
        let name: &'static str = Box::leak(page_name.clone().into_boxed_str());
        write_man(dir, name, sub.clone().name(name).bin_name(bin_name.clone()));
        write_subcommand_pages(dir, sub, &page_name, &bin_name);
    }
}

fn write_man(dir: &std::path::Path, name: &str, cmd: clap::Command) {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .title(name.to_uppercase())
        .section("1")
        .source(format!("wsprune {}", env!("CARGO_PKG_VERSION")))
        .manual("wsprune manual")
        .render(&mut page)
        .expect("render man page");
    std::fs::write(dir.join(format!("{name}.1")), page).expect("write man page");
}
