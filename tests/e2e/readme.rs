//! Keeps the README true: its configuration table lists exactly galleryd's options, with their
//! environment variables and defaults, and its test command is what CI runs.

use clap::CommandFactory;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md")
}

/// The rows of the configuration table: (flag, environment variable, default).
fn configuration_rows(readme: &str) -> Vec<(String, String, String)> {
    readme
        .lines()
        .skip_while(|line| !line.starts_with("| flag | environment | default |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<String> = line
                .split('|')
                .map(|cell| cell.trim().trim_matches('`').to_string())
                .collect();
            (cells[1].clone(), cells[2].clone(), cells[3].clone())
        })
        .collect()
}

#[test]
fn the_configuration_table_lists_every_option() {
    let readme = readme();
    let rows = configuration_rows(&readme);
    let command = galleryd::Cli::command();
    let mut documented = 0;
    for argument in command.get_arguments() {
        let Some(long) = argument.get_long() else {
            continue;
        };
        if matches!(long, "help" | "version") {
            continue;
        }
        let flag = format!("--{long}");
        let row = rows
            .iter()
            .find(|(row_flag, _, _)| *row_flag == flag)
            .unwrap_or_else(|| panic!("README lacks {flag}"));
        let environment = argument
            .get_env()
            .map(|name| name.to_string_lossy().to_string())
            .unwrap_or_default();
        assert_eq!(row.1, environment, "environment variable of {flag}");
        if let Some(default) = argument.get_default_values().first() {
            assert_eq!(row.2, default.to_string_lossy(), "default of {flag}");
        }
        documented += 1;
    }
    assert_eq!(
        documented,
        rows.len(),
        "the README documents options galleryd does not have"
    );
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme = readme();
    assert!(
        readme.contains("```sh\nscripts/test\n```"),
        "README names scripts/test as the test command"
    );
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci/run"))
        .expect(".ci/run");
    assert!(
        ci.lines().any(|line| line.trim() == "scripts/test"),
        ".ci/run runs scripts/test"
    );
}

#[test]
fn the_identities_example_is_a_valid_identities_file() {
    let readme = readme();
    let after = readme
        .split("--identities <file.json>`:\n\n```json\n")
        .nth(1)
        .expect("the README shows an identities file");
    let example = after.split("```").next().unwrap();
    let file = std::env::temp_dir().join(format!("readme-identities-{}.json", std::process::id()));
    std::fs::write(&file, example).unwrap();
    let config = <galleryd::Config as clap::Parser>::parse_from([
        "galleryd",
        "--identities",
        file.to_str().unwrap(),
    ]);
    let directory = config.directory();
    let _ = std::fs::remove_file(&file);
    let directory = directory.expect("the example parses and validates");
    assert!(directory.principal("ann@contoso.com").is_some());
    assert!(
        directory
            .principal("44444444-4444-4444-4444-444444444444")
            .and_then(|principal| principal.client_secret.as_deref())
            == Some("s3cret")
    );
    assert!(
        directory
            .first_of_kind(gallery_domain::identity::PrincipalKind::ManagedIdentity)
            .is_some()
    );
    assert_eq!(directory.subscriptions.len(), 2);
}
