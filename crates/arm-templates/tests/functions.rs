//! Every function family, with the results Microsoft Learn's template-functions-* pages state for
//! their examples (and Azure's rules from reference/deployments.md §4 where the pages are silent).

mod common;

use common::{GROUP, SUBSCRIPTION, evaluate, evaluation_error};
use serde_json::json;

fn check(cases: &[(&str, serde_json::Value)]) {
    for (expression, expected) in cases {
        assert_eq!(evaluate(expression), *expected, "{expression}");
    }
}

#[test]
fn string_functions() {
    check(&[
        ("[base64('one, two, three')]", json!("b25lLCB0d28sIHRocmVl")),
        (
            "[base64ToString('b25lLCB0d28sIHRocmVl')]",
            json!("one, two, three"),
        ),
        (
            "[base64ToJson('eyJvbmUiOiAiYSIsICJ0d28iOiAiYiJ9')]",
            json!({"one": "a", "two": "b"}),
        ),
        ("[concat('prefix', '-', 5, true())]", json!("prefix-5True")),
        ("[concat('a', null(), 'b')]", json!("ab")),
        ("[contains('OneTwoThree', 'e')]", json!(true)),
        ("[contains('OneTwoThree', 'z')]", json!(false)),
        ("[contains('OneTwoThree', 'one')]", json!(false)),
        (
            "[dataUri('Hello')]",
            json!("data:text/plain;charset=utf8;base64,SGVsbG8="),
        ),
        (
            "[dataUriToString('data:;base64,SGVsbG8sIFdvcmxkIQ==')]",
            json!("Hello, World!"),
        ),
        ("[empty('')]", json!(true)),
        ("[endsWith('abcdef', 'ef')]", json!(true)),
        ("[endsWith('abcdef', 'F')]", json!(true)),
        ("[endsWith('abcdef', 'e')]", json!(false)),
        ("[startsWith('abcdef', 'ab')]", json!(true)),
        ("[startsWith('abcdef', 'A')]", json!(true)),
        ("[first('One Two Three')]", json!("O")),
        ("[last('One Two Three')]", json!("e")),
        (
            "[format('{0}, {1}. Formatted number: {2:N0}', 'Hello', 'User', 8175133)]",
            json!("Hello, User. Formatted number: 8,175,133"),
        ),
        ("[indexOf('test', 't')]", json!(0)),
        ("[indexOf('abcdef', 'CD')]", json!(2)),
        ("[indexOf('abcdef', 'z')]", json!(-1)),
        ("[lastIndexOf('test', 't')]", json!(3)),
        ("[lastIndexOf('abcdef', 'AB')]", json!(0)),
        (
            "[join(createArray('one', 'two', 'three'), ',')]",
            json!("one,two,three"),
        ),
        ("[length('One Two Three')]", json!(13)),
        ("[padLeft('123', 10, '0')]", json!("0000000123")),
        ("[padLeft(7, 3, '0')]", json!("007")),
        ("[replace('123-123-1234', '-', '')]", json!("1231231234")),
        (
            "[replace('123-123-1234', '1234', 'xxxx')]",
            json!("123-123-xxxx"),
        ),
        ("[skip('one two three', 4)]", json!("two three")),
        (
            "[split('one,two,three', ',')]",
            json!(["one", "two", "three"]),
        ),
        (
            "[split('one;two,three', createArray(',', ';'))]",
            json!(["one", "two", "three"]),
        ),
        ("[split('a,,b', ',')]", json!(["a", "", "b"])),
        (
            "[string(createObject('valueA', 10, 'valueB', 'Example Text'))]",
            json!("{\"valueA\":10,\"valueB\":\"Example Text\"}"),
        ),
        (
            "[string(createArray('a', 'b', 'c'))]",
            json!("[\"a\",\"b\",\"c\"]"),
        ),
        ("[string(5)]", json!("5")),
        ("[string(true())]", json!("True")),
        ("[substring('hello there', 1, 3)]", json!("ell")),
        ("[take('one two three', 2)]", json!("on")),
        ("[toLower('One Two Three')]", json!("one two three")),
        ("[toUpper('One Two Three')]", json!("ONE TWO THREE")),
        ("[trim('    one two three   ')]", json!("one two three")),
        (
            "[uri('http://contoso.com/resources/', 'nested/azuredeploy.json')]",
            json!("http://contoso.com/resources/nested/azuredeploy.json"),
        ),
        (
            "[uriComponent('http://contoso.com/resources/nested/azuredeploy.json')]",
            json!("http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json"),
        ),
        (
            "[uriComponentToString('http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json')]",
            json!("http://contoso.com/resources/nested/azuredeploy.json"),
        ),
        ("[uniqueString('test')]", json!("rbgf3xv4ufgzg")),
        ("[uniquestring('hello', 'world')]", json!("a7wkljktk6wne")),
        (
            "[guid('test')]",
            json!("d6a5baf1-8b9b-542a-8525-2982f1f98a0c"),
        ),
        (
            "[GUID('hello', 'world')]",
            json!("a5b868f8-11fe-567a-ace0-e77cc87f104e"),
        ),
        ("[[not an expression]", json!("[not an expression]")),
        ("[test] value", json!("[test] value")),
        ("[concat('it''s', ' ok')]", json!("it's ok")),
    ]);
    assert!(
        evaluation_error("[substring('hello', 3, 5)]")
            .contains("The index and length parameters must refer to a location within the string")
    );
    assert!(evaluation_error("[concat('a', createArray(1))]").contains("concat"));
}

#[test]
fn array_and_object_functions() {
    check(&[
        ("[array(1)]", json!([1])),
        ("[array('efgh')]", json!(["efgh"])),
        (
            "[array(createObject('a', 'b', 'c', 'd'))]",
            json!([{"a": "b", "c": "d"}]),
        ),
        (
            "[concat(createArray('1-1', '1-2'), createArray('2-1'))]",
            json!(["1-1", "1-2", "2-1"]),
        ),
        (
            "[contains(createObject('one', 'a', 'two', 'b'), 'ONE')]",
            json!(true),
        ),
        (
            "[contains(createArray('one', 'two', 'three'), 'two')]",
            json!(true),
        ),
        (
            "[contains(createArray('one', 'two', 'three'), 'four')]",
            json!(false),
        ),
        ("[createArray(1, 2, 3)]", json!([1, 2, 3])),
        ("[createArray()]", json!([])),
        ("[empty(createArray())]", json!(true)),
        ("[empty(createObject())]", json!(true)),
        ("[first(createArray('one', 'two', 'three'))]", json!("one")),
        ("[last(createArray('one', 'two', 'three'))]", json!("three")),
        ("[indexOf(createArray('a', 'b', 'c'), 'b')]", json!(1)),
        ("[indexOf(createArray(1, 2, 3), 4)]", json!(-1)),
        ("[lastIndexOf(createArray('a', 'b', 'a'), 'a')]", json!(2)),
        (
            "[intersection(createObject('one', 'a', 'two', 'b', 'three', 'c'), createObject('one', 'a', 'two', 'z', 'three', 'c'))]",
            json!({"one": "a", "three": "c"}),
        ),
        (
            "[intersection(createArray('one', 'two', 'three'), createArray('two', 'three'))]",
            json!(["two", "three"]),
        ),
        (
            "[union(createObject('one', 'a', 'two', 'b', 'three', 'c1'), createObject('three', 'c2', 'four', 'd', 'five', 'e'))]",
            json!({"one": "a", "two": "b", "three": "c2", "four": "d", "five": "e"}),
        ),
        (
            "[union(createArray('one', 'two', 'three'), createArray('three', 'four'))]",
            json!(["one", "two", "three", "four"]),
        ),
        (
            "[union(json('{\"property\":{\"one\":\"a\",\"two\":\"b\",\"three\":\"c1\"},\"nestedArray\":[1,2]}'), json('{\"property\":{\"three\":\"c2\",\"four\":\"d\",\"five\":\"e\"},\"nestedArray\":[3,4]}'))]",
            json!({"property": {"one": "a", "two": "b", "three": "c2", "four": "d", "five": "e"}, "nestedArray": [3, 4]}),
        ),
        ("[length(createArray('a', 'b', 'c'))]", json!(3)),
        ("[length(createObject('a', 1, 'b', 2))]", json!(2)),
        ("[max(createArray(0, 3, 2, 5, 4))]", json!(5)),
        ("[max(0, 3, 2, 5, 4)]", json!(5)),
        ("[min(createArray(0, 3, 2, 5, 4))]", json!(0)),
        ("[range(1, 5)]", json!([1, 2, 3, 4, 5])),
        (
            "[skip(createArray('one', 'two', 'three'), 2)]",
            json!(["three"]),
        ),
        ("[skip(createArray('one'), -1)]", json!(["one"])),
        (
            "[take(createArray('one', 'two', 'three'), 2)]",
            json!(["one", "two"]),
        ),
        ("[take(createArray('one'), 0)]", json!([])),
        (
            "[createObject('intProp', 1, 'stringProp', 'abc', 'boolProp', true(), 'arrayProp', createArray('a', 'b', 'c'), 'objectProp', createObject('key1', 'value1'))]",
            json!({"intProp": 1, "stringProp": "abc", "boolProp": true, "arrayProp": ["a", "b", "c"], "objectProp": {"key1": "value1"}}),
        ),
        (
            "[items(createObject('item002', 'b', 'item001', 'a'))]",
            json!([{"key": "item001", "value": "a"}, {"key": "item002", "value": "b"}]),
        ),
        (
            "[objectKeys(createObject('a', 1, 'b', 2))]",
            json!(["a", "b"]),
        ),
        ("[json('{\"a\": \"b\"}').a]", json!("b")),
        ("[json('null')]", json!(null)),
        ("[json('[1, 2]')[1]]", json!(2)),
        ("[null()]", json!(null)),
        ("[length(null())]", json!(0)),
        (
            "[shallowMerge(createArray(createObject('a', 1), createObject('b', 2)))]",
            json!({"a": 1, "b": 2}),
        ),
        ("[tryGet(createObject('a', 1), 'b')]", json!(null)),
        (
            "[tryGet(createObject('a', createObject('b', 2)), 'a', 'b')]",
            json!(2),
        ),
        (
            "[flatten(createArray(createArray(1, 2), createArray(3)))]",
            json!([1, 2, 3]),
        ),
        ("[createObject('Name', 'x').name]", json!("x")),
        ("[createArray(1, 2, 3)[2]]", json!(3)),
    ]);
    assert!(
        evaluation_error("[createArray(1, 2)[2]]")
            .contains("The language expression property array index '2' is out of bounds.")
    );
    assert!(evaluation_error("[createObject('a', 1).b]").contains(
        "The language expression property 'b' doesn't exist, available properties are 'a'."
    ));
}

#[test]
fn comparison_logical_and_numeric_functions() {
    check(&[
        ("[coalesce(null(), null(), 1, 2)]", json!(1)),
        ("[coalesce(null(), null())]", json!(null)),
        ("[equals(1, 1)]", json!(true)),
        ("[equals('a', 'A')]", json!(false)),
        (
            "[equals(createArray('a', 'b'), createArray('a', 'b'))]",
            json!(true),
        ),
        (
            "[equals(createObject('a', 'b'), createObject('a', 'b'))]",
            json!(true),
        ),
        ("[greater(10, 5)]", json!(true)),
        ("[greater('A', 'a')]", json!(false)),
        ("[greaterOrEquals(10, 10)]", json!(true)),
        ("[greaterOrEquals('A', 'a')]", json!(false)),
        ("[less(10, 5)]", json!(false)),
        ("[less('A', 'a')]", json!(true)),
        ("[lessOrEquals(5, 5)]", json!(true)),
        ("[and(true(), false())]", json!(false)),
        ("[and(true(), true(), true())]", json!(true)),
        ("[or(true(), false())]", json!(true)),
        ("[not(true())]", json!(false)),
        ("[bool('true')]", json!(true)),
        ("[bool('False')]", json!(false)),
        ("[bool(0)]", json!(false)),
        ("[bool(1)]", json!(true)),
        ("[if(equals(1, 1), 'yes', 'no')]", json!("yes")),
        ("[if(equals(1, 2), 'yes', 'no')]", json!("no")),
        ("[if(true(), 'taken', createArray(1)[5])]", json!("taken")),
        ("[true()]", json!(true)),
        ("[false()]", json!(false)),
        ("[add(5, 3)]", json!(8)),
        ("[sub(7, 3)]", json!(4)),
        ("[mul(5, 3)]", json!(15)),
        ("[div(8, 3)]", json!(2)),
        ("[mod(7, 3)]", json!(1)),
        ("[add(-1, -2)]", json!(-3)),
        ("[int('4')]", json!(4)),
        ("[float('3.5')]", json!(3.5)),
        ("[copyIndex] value", json!("[copyIndex] value")),
    ]);
    assert!(evaluation_error("[div(1, 0)]").contains("Attempted to divide by zero"));
    assert!(evaluation_error("[mod(1, 0)]").contains("Attempted to divide by zero"));
    assert!(evaluation_error("[add(9223372036854775807, 1)]").contains("overflow"));
    assert!(evaluation_error("[mul(9223372036854775807, 2)]").contains("overflow"));
    assert!(evaluation_error("[and(true(), 'x')]").contains("Boolean"));
}

#[test]
fn date_functions() {
    check(&[
        (
            "[dateTimeAdd('2020-04-07 14:53:14Z', 'P3Y')]",
            json!("4/7/2023 2:53:14 PM"),
        ),
        (
            "[dateTimeAdd('2020-04-07 14:53:14Z', '-PT9H')]",
            json!("4/7/2020 5:53:14 AM"),
        ),
        (
            "[dateTimeAdd('2020-04-07 14:53:14Z', 'PT1H', 'yyyy-MM-dd HH:mm:ss')]",
            json!("2020-04-07 15:53:14"),
        ),
        (
            "[dateTimeFromEpoch(1683040573)]",
            json!("2023-05-02T15:16:13Z"),
        ),
        (
            "[dateTimeToEpoch('2023-05-02T15:16:13Z')]",
            json!(1683040573),
        ),
        (
            "[dateTimeToEpoch(dateTimeAdd('2023-05-02T15:16:13Z', 'P1D', 'o'))]",
            json!(1683126973),
        ),
    ]);
    assert!(
        evaluation_error("[utcNow()]")
            .contains("The function can only be used with parameter default values")
    );
    assert!(
        evaluation_error("[newGuid()]")
            .contains("The function can only be used with parameter default values")
    );
}

#[test]
fn deployment_and_scope_functions() {
    check(&[
        ("[environment().name]", json!("AzureCloud")),
        (
            "[environment().suffixes.storage]",
            json!("core.windows.net"),
        ),
        ("[deployment().name]", json!("exampledeployment")),
        ("[deployment().properties.mode]", json!("Incremental")),
        (
            "[resourceGroup().id]",
            json!(format!(
                "/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}"
            )),
        ),
        ("[resourceGroup().location]", json!("westus")),
        ("[resourceGroup().name]", json!(GROUP)),
        ("[subscription().subscriptionId]", json!(SUBSCRIPTION)),
        (
            "[subscription().id]",
            json!(format!("/subscriptions/{SUBSCRIPTION}")),
        ),
        (
            "[tenant().tenantId]",
            json!("72f988bf-86f1-41af-91ab-2d7cd011db47"),
        ),
        (
            "[uniqueString(resourceGroup().id)]",
            json!(arm_templates::hashing::unique_string(&[&format!(
                "/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}"
            )])),
        ),
    ]);
    assert!(evaluation_error("[managementGroup()]").contains("is not expected at this location"));
}

#[test]
fn resource_id_functions() {
    let group_scope = format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}");
    check(&[
        (
            "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet', 'subnet')]",
            json!(format!(
                "{group_scope}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/subnet"
            )),
        ),
        (
            "[resourceId('otherResourceGroup', 'Microsoft.Storage/storageAccounts', 'examplestorage')]",
            json!(format!(
                "/subscriptions/{SUBSCRIPTION}/resourceGroups/otherResourceGroup/providers/Microsoft.Storage/storageAccounts/examplestorage"
            )),
        ),
        (
            "[resourceId('11111111-1111-1111-1111-111111111111', 'otherResourceGroup', 'Microsoft.Storage/storageAccounts', 'examplestorage')]",
            json!(
                "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/otherResourceGroup/providers/Microsoft.Storage/storageAccounts/examplestorage"
            ),
        ),
        (
            "[resourceId('Microsoft.Compute/disks/', 'disk1')]",
            json!(format!(
                "{group_scope}/providers/Microsoft.Compute/disks/disk1"
            )),
        ),
        (
            "[resourceId('Microsoft.Compute/galleries/images', 'g', 'i')]",
            json!(format!(
                "{group_scope}/providers/Microsoft.Compute/galleries/g/images/i"
            )),
        ),
        (
            "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')]",
            json!(format!(
                "/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
            )),
        ),
        (
            "[subscriptionResourceId('22222222-2222-2222-2222-222222222222', 'Microsoft.Resources/resourceGroups', 'rg')]",
            json!("/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg"),
        ),
        (
            "[tenantResourceId('Microsoft.Authorization/policyDefinitions', 'policy1')]",
            json!("/providers/Microsoft.Authorization/policyDefinitions/policy1"),
        ),
        (
            "[managementGroupResourceId('mg1', 'Microsoft.Authorization/policyDefinitions', 'policy1')]",
            json!(
                "/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Authorization/policyDefinitions/policy1"
            ),
        ),
        (
            "[extensionResourceId(resourceGroup().id, 'Microsoft.Authorization/locks', 'lock1')]",
            json!(format!(
                "{group_scope}/providers/Microsoft.Authorization/locks/lock1"
            )),
        ),
        (
            "[pickZones('Microsoft.Compute', 'virtualMachines', 'westus2')]",
            json!(["1"]),
        ),
        (
            "[pickZones('Microsoft.Compute', 'virtualMachines', 'northcentralus')]",
            json!([]),
        ),
        (
            "[pickZones('Microsoft.Compute', 'virtualMachines', 'westus2', 3)]",
            json!(["1", "2", "3"]),
        ),
    ]);
    assert!(
        evaluation_error("[resourceId('Microsoft.Compute/galleries/images', 'g')]")
            .contains("requires '2' resource name argument(s)")
    );
    assert!(
        evaluation_error("[resourceId('a', 'b', 'c', 'Microsoft.Compute/galleries', 'g')]")
            .contains("function requires exactly one multi-segmented argument")
    );
    assert!(
        evaluation_error("[reference('x')]")
            .contains("The template function 'reference' is not expected at this location")
    );
    assert!(
        evaluation_error("[listKeys('x', '2020-01-01')]")
            .contains("is not expected at this location")
    );
}

#[test]
fn lambda_functions() {
    let dogs = "createArray(createObject('name', 'Evie', 'age', 5), createObject('name', 'Casper', 'age', 3), createObject('name', 'Indy', 'age', 2), createObject('name', 'Kira', 'age', 8))";
    check(&[
        (
            &format!(
                "[filter({dogs}, lambda('dog', greaterOrEquals(lambdaVariables('dog').age, 5)))]"
            ),
            json!([{"name": "Evie", "age": 5}, {"name": "Kira", "age": 8}]),
        ),
        (
            &format!("[map({dogs}, lambda('dog', lambdaVariables('dog').name))]"),
            json!(["Evie", "Casper", "Indy", "Kira"]),
        ),
        (
            &format!(
                "[map({dogs}, lambda('dog', 'i', concat(string(lambdaVariables('i')), lambdaVariables('dog').name)))]"
            ),
            json!(["0Evie", "1Casper", "2Indy", "3Kira"]),
        ),
        (
            &format!(
                "[reduce(map({dogs}, lambda('dog', lambdaVariables('dog').age)), 0, lambda('cur', 'next', add(lambdaVariables('cur'), lambdaVariables('next'))))]"
            ),
            json!(18),
        ),
        (
            &format!(
                "[map(sort({dogs}, lambda('a', 'b', less(lambdaVariables('a').age, lambdaVariables('b').age))), lambda('d', lambdaVariables('d').name))]"
            ),
            json!(["Indy", "Casper", "Evie", "Kira"]),
        ),
        (
            &format!(
                "[toObject({dogs}, lambda('d', lambdaVariables('d').name), lambda('d', lambdaVariables('d').age))]"
            ),
            json!({"Evie": 5, "Casper": 3, "Indy": 2, "Kira": 8}),
        ),
        (
            "[groupBy(createArray('foo', 'bar', 'baz'), lambda('x', substring(lambdaVariables('x'), 0, 1)))]",
            json!({"f": ["foo"], "b": ["bar", "baz"]}),
        ),
        (
            "[mapValues(createObject('foo', 'foo', 'bar', 'bar'), lambda('val', toUpper(lambdaVariables('val'))))]",
            json!({"foo": "FOO", "bar": "BAR"}),
        ),
    ]);
    assert!(evaluation_error("[lambda('x', 1)]").contains("lambda"));
    assert!(evaluation_error("[map(createArray(1), 5)]").contains("lambda"));
}

#[test]
fn cidr_functions() {
    check(&[
        (
            "[sys.parseCidr('10.144.0.0/20')]",
            json!({"network": "10.144.0.0", "netmask": "255.255.240.0", "broadcast": "10.144.15.255", "firstUsable": "10.144.0.1", "lastUsable": "10.144.15.254", "cidr": 20}),
        ),
        (
            "[parseCidr('fdad:3236:5555::/48')]",
            json!({"network": "fdad:3236:5555::", "netmask": "ffff:ffff:ffff::", "firstUsable": "fdad:3236:5555::", "lastUsable": "fdad:3236:5555:ffff:ffff:ffff:ffff:ffff", "cidr": 48}),
        ),
        (
            "[cidrSubnet('10.144.0.0/20', 24, 0)]",
            json!("10.144.0.0/24"),
        ),
        (
            "[cidrSubnet('10.144.0.0/20', 24, 1)]",
            json!("10.144.1.0/24"),
        ),
        ("[cidrHost('10.144.3.0/24', 0)]", json!("10.144.3.1")),
        ("[cidrHost('10.144.3.0/24', 4)]", json!("10.144.3.5")),
        (
            "[cidrSubnet('fdad:3236:5555::/48', 52, 1)]",
            json!("fdad:3236:5555:1000::/52"),
        ),
        (
            "[cidrSubnet('fdad:3236:5555::/48', 52, 4)]",
            json!("fdad:3236:5555:4000::/52"),
        ),
        (
            "[cidrHost('fdad:3236:5555:3000::/52', 0)]",
            json!("fdad:3236:5555:3000::1"),
        ),
        (
            "[cidrHost('fdad:3236:5555:3000::/52', 4)]",
            json!("fdad:3236:5555:3000::5"),
        ),
    ]);
    assert!(evaluation_error("[cidrSubnet('10.144.0.0/20', 24, 16)]").contains("out of range"));
}

#[test]
fn names_ignore_case_and_errors_use_azure_wording() {
    check(&[
        ("[CONCAT('a', 'b')]", json!("ab")),
        ("[ToLower('AB')]", json!("ab")),
    ]);
    let message = evaluation_error("[nosuchfunction()]");
    assert!(message.starts_with("Deployment template language expression evaluation failed: 'The template function 'nosuchfunction' is not valid."), "{message}");
    let message = evaluation_error("[concat('ai-', uniqueString(resourceGroup().id)]");
    assert!(message.contains("Unable to parse language expression 'concat('ai-', uniqueString(resourceGroup().id)': expected token 'RightParenthesis' and actual 'EndOfData'."), "{message}");
    assert!(evaluation_error("[toLower(1)]").contains("The template language function 'toLower' expects its first parameter to be of type 'String'. The provided value is of type 'Integer'."));
    assert!(
        evaluation_error("[variables('missing')]")
            .contains("The template variable 'missing' is not found.")
    );
    assert!(
        evaluation_error("[parameters('missing')]")
            .contains("The template parameter 'missing' is not found.")
    );
}
