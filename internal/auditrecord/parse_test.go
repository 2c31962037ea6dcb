package auditrecord_test

import (
	"testing"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// Real records, each copied verbatim from one line or element of a corpus
// file (../shared/corpus/samples, see its SOURCES.md) so that these tests run
// without the corpus. Only indentation was removed from multi-line files.
const (
	// purview_csv/DERIVED_huntress2023_purview_AuditData.ndjson
	huntressNewInboxRule     = `{"AppAccessContext":{"IssuedAtTime":"2023-09-26T01:47:34","UniqueTokenId":"3kVZRE8tFkinHtPA7_EFAA"},"CreationTime":"2023-09-26T02:05:42","Id":"b742cf44-bcef-4fdb-6279-08dbbe3516e3","Operation":"New-InboxRule","OrganizationId":"df233d94-fed3-4436-bf9a-a799fb85a159","RecordType":1,"ResultStatus":"True","UserKey":"10032002F222981B","UserType":2,"Version":1,"Workload":"Exchange","ClientIP":"185.73.124.135:49567","ObjectId":"NAMPR10A011.PROD.OUTLOOK.COM\/Microsoft Exchange Hosted Organizations\/M365B132131.onmicrosoft.com\/f757cb79-dd91-4555-a45e-520c2525d932\\3","UserId":"DebraB@M365B132131.OnMicrosoft.com","AppId":"00000002-0000-0ff1-ce00-000000000000","ClientAppId":"","ExternalAccess":false,"OrganizationName":"M365B132131.onmicrosoft.com","OriginatingServer":"CH3PR10MB7864 (15.20.6813.027)","Parameters":[{"Name":"AlwaysDeleteOutlookRulesBlob","Value":"False"},{"Name":"Force","Value":"False"},{"Name":"From","Value":"flag@ctf.com"},{"Name":"MoveToFolder","Value":"Inbox"},{"Name":"Name","Value":"3"},{"Name":"MarkAsRead","Value":"True"},{"Name":"StopProcessingRules","Value":"True"}],"SessionId":"9dfdecb6-59a0-4714-846e-86c0fc911104"}`
	huntressSetMailboxSystem = `{"AppAccessContext":{"UniqueTokenId":""},"CreationTime":"2023-09-23T04:25:27","Id":"0cb4a000-77f7-4497-8d66-08dbbbed1d2b","Operation":"Set-Mailbox","OrganizationId":"df233d94-fed3-4436-bf9a-a799fb85a159","RecordType":1,"ResultStatus":"True","UserKey":"NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)","UserType":3,"Version":1,"Workload":"Exchange","ObjectId":"NAMPR10A011.PROD.OUTLOOK.COM\/Microsoft Exchange Hosted Organizations\/M365B132131.onmicrosoft.com\/SystemMailbox{e0dc1c29-89c3-4034-b678-e6c29d823ed9}","UserId":"NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)","AppId":"","ClientAppId":"","ExternalAccess":true,"OrganizationName":"M365B132131.onmicrosoft.com","OriginatingServer":"CH3PR10MB6883 (15.20.6813.014)","Parameters":[{"Name":"Arbitration","Value":"True"},{"Name":"Identity","Value":"NAMPR10A011.PROD.OUTLOOK.COM\/Microsoft Exchange Hosted Organizations\/M365B132131.onmicrosoft.com\/SystemMailbox{e0dc1c29-89c3-4034-b678-e6c29d823ed9}"},{"Name":"UMDataStorage","Value":"True"},{"Name":"Force","Value":"True"}]}`
	huntressUserLoggedIn     = `{"CreationTime":"2023-09-26T02:12:55","Id":"27847b7f-eaf5-4e9a-922e-92fe7f010600","Operation":"UserLoggedIn","OrganizationId":"df233d94-fed3-4436-bf9a-a799fb85a159","RecordType":15,"ResultStatus":"Success","UserKey":"dcc5b9ba-b644-4df4-a994-fc9a2fc39a13","UserType":0,"Version":1,"Workload":"AzureActiveDirectory","ClientIP":"185.73.124.135","ObjectId":"00000002-0000-0ff1-ce00-000000000000","UserId":"AlexW@M365B132131.OnMicrosoft.com","AzureActiveDirectoryEventType":1,"ExtendedProperties":[{"Name":"ResultStatusDetail","Value":"Success"},{"Name":"KeepMeSignedIn","Value":"true"},{"Name":"UserAgent","Value":"Mozilla\/5.0 (Macintosh; Intel Mac OS X 10.15; rv:109.0) Gecko\/20100101 Firefox\/114.0"},{"Name":"UserAuthenticationMethod","Value":"1"},{"Name":"RequestType","Value":"Login:login"}],"ModifiedProperties":[],"Actor":[{"ID":"dcc5b9ba-b644-4df4-a994-fc9a2fc39a13","Type":0},{"ID":"AlexW@M365B132131.OnMicrosoft.com","Type":5}],"ActorContextId":"df233d94-fed3-4436-bf9a-a799fb85a159","ActorIpAddress":"185.73.124.135","InterSystemsId":"45e81ca3-bc20-f82e-079d-1f28f9f35832","IntraSystemId":"27847b7f-eaf5-4e9a-922e-92fe7f010600","SupportTicketId":"","Target":[{"ID":"00000002-0000-0ff1-ce00-000000000000","Type":0}],"TargetContextId":"df233d94-fed3-4436-bf9a-a799fb85a159","ApplicationId":"00000002-0000-0ff1-ce00-000000000000","DeviceProperties":[{"Name":"OS","Value":"MacOs"},{"Name":"BrowserType","Value":"Firefox"},{"Name":"IsCompliantAndManaged","Value":"False"},{"Name":"SessionId","Value":"875d65bf-f95f-4f99-a593-e5258ee48003"}],"ErrorNumber":"50140"}`
	huntressUserLoginFailed  = `{"CreationTime":"2023-09-26T01:51:13","Id":"b21a7da1-bd08-44ec-ac88-be14ae4d0500","Operation":"UserLoginFailed","OrganizationId":"df233d94-fed3-4436-bf9a-a799fb85a159","RecordType":15,"ResultStatus":"Success","UserKey":"f757cb79-dd91-4555-a45e-520c2525d932","UserType":0,"Version":1,"Workload":"AzureActiveDirectory","ClientIP":"185.73.124.135","ObjectId":"00000003-0000-0000-c000-000000000000","UserId":"DebraB@M365B132131.OnMicrosoft.com","AzureActiveDirectoryEventType":1,"ExtendedProperties":[{"Name":"ResultStatusDetail","Value":"Success"},{"Name":"UserAgent","Value":"Mozilla\/5.0 (Macintosh; Intel Mac OS X 10.15; rv:109.0) Gecko\/20100101 Firefox\/114.0"},{"Name":"UserAuthenticationMethod","Value":"1"},{"Name":"RequestType","Value":"Login:login"}],"ModifiedProperties":[],"Actor":[{"ID":"f757cb79-dd91-4555-a45e-520c2525d932","Type":0},{"ID":"DebraB@M365B132131.OnMicrosoft.com","Type":5}],"ActorContextId":"df233d94-fed3-4436-bf9a-a799fb85a159","ActorIpAddress":"185.73.124.135","InterSystemsId":"01ed4e23-7e8e-4c55-8c82-c9d3c557e788","IntraSystemId":"b21a7da1-bd08-44ec-ac88-be14ae4d0500","SupportTicketId":"","Target":[{"ID":"00000003-0000-0000-c000-000000000000","Type":0}],"TargetContextId":"df233d94-fed3-4436-bf9a-a799fb85a159","ApplicationId":"ee272b19-4411-433f-8f28-5c13cb6fd407","DeviceProperties":[{"Name":"OS","Value":"MacOs"},{"Name":"BrowserType","Value":"Firefox"},{"Name":"IsCompliantAndManaged","Value":"False"}],"ErrorNumber":"50126","LogonError":"InvalidUserNameOrPassword"}`

	// o365/splunk-security_content_o365_*.json
	splunkSetMailbox           = `{"AppId": "", "ClientAppId": "", "ClientIP": "18.192.200.190:52816", "CreationTime": "2020-12-16T12:32:28", "ExternalAccess": false, "Id": "a6a52406-0912-448d-36eb-08d8a1bea6be", "ObjectId": "bpatel", "Operation": "Set-Mailbox", "OrganizationId": "0e8108b1-18e9-41a4-961b-dfcddf92ef08", "OrganizationName": "rodsoto.onmicrosoft.com", "OriginatingServer": "PH0PR14MB4341 (15.20.3654.025)", "Parameters": [{"Name": "ForwardingAddress", "Value": ""}, {"Name": "Identity", "Value": "bpatel@rodsoto.onmicrosoft.com"}], "RecordType": 1, "ResultStatus": "True", "SessionId": "86a7cd7c-3f42-4b68-b670-4024b5461a80", "UserId": "pbareiss@rodsoto.onmicrosoft.com", "UserKey": "10032001020A3408", "UserType": 2, "Version": 1, "Workload": "Exchange"}`
	splunkAddMailboxPermission = `{"AppId": "", "ClientAppId": "", "ClientIP": "18.159.234.121:30395", "CreationTime": "2020-12-15T10:18:53", "ExternalAccess": false, "Id": "bb6e31a3-e98f-493d-bbff-08d8a0e2d2b0", "ObjectId": "jhernan", "Operation": "Add-MailboxPermission", "OrganizationId": "0e8108b1-18e9-41a4-961b-dfcddf92ef08", "OrganizationName": "rodsoto.onmicrosoft.com", "OriginatingServer": "PH0PR14MB4341 (15.20.3654.025)", "Parameters": [{"Name": "Identity", "Value": "jhernan"}, {"Name": "User", "Value": "Patrick Bareiss"}, {"Name": "AccessRights", "Value": "FullAccess"}, {"Name": "InheritanceType", "Value": "All"}], "RecordType": 1, "ResultStatus": "True", "SessionId": "2be46662-a743-4a05-8744-c2f75f886512", "UserId": "pbareiss@rodsoto.onmicrosoft.com", "UserKey": "10032001020A3408", "UserType": 2, "Version": 1, "Workload": "Exchange"}`
	splunkUserLoginFailed      = `{"CreationTime": "2023-10-10T17:08:65", "Id": "4593aac8-855f-4341-9d2a-4289146eb800", "Operation": "UserLoginFailed", "OrganizationId": "d541aae6-6b73-4a7c-aaf0-a4de30c872bc", "RecordType": 15, "ResultStatus": "Failed", "UserKey": "57e4bd36-9722-4a4a-9729-7203d8e00b72", "UserType": 0, "Version": 1, "Workload": "AzureActiveDirectory", "ClientIP": "52.3.21.4", "ObjectId": "Unknown", "UserId": "user30@contoso.onmicrosoft.com", "AzureActiveDirectoryEventType": 1, "ExtendedProperties": [{"Name": "ResultStatusDetail", "Value": "UserError"}, {"Name": "UserAgent", "Value": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/104.0.0.0 Safari/537.36"}, {"Name": "UserAuthenticationMethod", "Value": "1"}, {"Name": "RequestType", "Value": "OAuth2:Token"}], "ModifiedProperties": [], "Actor": [{"ID": "57e4bd36-9722-4a4a-9729-7203d8e00b72", "Type": 0}, {"ID": "user30@contoso.onmicrosoft.com", "Type": 5}], "ActorContextId": "d541aae6-6b73-4a7c-aaf0-a4de30c872bc", "ActorIpAddress": "52.3.21.4", "InterSystemsId": "97e59adc-b4be-4ea6-8f17-b46677242190", "IntraSystemId": "eeeba3a0-c619-437a-9879-3dd009f9bf00", "SupportTicketId": "", "Target": [{"ID": "Unknown", "Type": 0}], "TargetContextId": "d541aae6-6b73-4a7c-aaf0-a4de30c872bc", "ApplicationId": "9ba1a5c7-f17a-4de9-a1f1-6178c8d51223", "DeviceProperties": [{"Name": "OS", "Value": "Windows10"}, {"Name": "BrowserType", "Value": "Chrome"}, {"Name": "IsCompliantAndManaged", "Value": "False"}], "ErrorNumber": "50126", "LogonError": "InvalidUserNameOrPassword"}`
	splunkMailItemsAccessed    = `{"CreationTime": "2024-02-01T16:07:34", "Id": "9cef02e9-4bfa-4c73-be7d-9dad68b9cea8", "Operation": "MailItemsAccessed", "OrganizationId": "75243ab2-44f8-435c-a7a6-b479385df6d4", "RecordType": 50, "ResultStatus": "Succeeded", "UserKey": "100320030DF47B14", "UserType": 0, "Version": 1, "Workload": "Exchange", "UserId": "user15@splunkresearch.onmicrosoft.com", "AppId": "47629505-c2b6-4a80-adb1-9b3a3d233b7b", "ClientAppId": "47629505-c2b6-4a80-adb1-9b3a3d233b7b", "ClientIPAddress": "120.1.121.35", "ClientInfoString": "Client=WebServices;ExchangeWebServicesProxy/CrossSite/EXCH/15.20.7249.024/python-requests/2.25.1[AppId=47629505-c2b6-4a80-adb1-9b3a3d233b7b];", "ExternalAccess": false, "InternalLogonType": 0, "LogonType": 0, "LogonUserSid": "S-1-5-21-1148582062-3132321681-773847816-49307764", "MailboxGuid": "7cfcc8fc-0d4a-4e1c-9592-dbb3de1e3859", "MailboxOwnerSid": "S-1-5-21-1148582062-3132321681-773847816-49307764", "MailboxOwnerUPN": "user15@splunkresearch.onmicrosoft.com", "OperationProperties": [{"Name": "MailAccessType", "Value": "Bind"}, {"Name": "IsThrottled", "Value": "False"}], "OrganizationName": "splunkresearch.onmicrosoft.com", "OriginatingServer": "CH0PR18MB5530 (15.20.4200.000)\r\n", "Folders": [{"FolderItems": [{"InternetMessageId": "<CAFpGju6Zzs6HoCNQsDh0=F=vS7KHikisdRrnC_avRsZhqK2iXQ@mail.mail.com>", "SizeInBytes": 44329}, {"InternetMessageId": "<CAFpGju6MHeSA5yKSaPK4w+p1uYWmZ_zew8kF8200_=DtqkvipA@mail.mail.com>", "SizeInBytes": 44304}, {"InternetMessageId": "<CAFpGju7uUnyyuZmuc9rm593BsA6yeB+86GCDg5KzSE48TaAb4Q@mail.mail.com>", "SizeInBytes": 44572}, {"InternetMessageId": "<CH0PR18MB5530506D1B68B05A99A1109FF185A@CH0PR18MB5530.namprd18.prod.outlook.com>", "SizeInBytes": 245068}], "Id": "LgAAAAC0AxwgOj/BRq9Bs1bhMPw/AQDh+UNSDzeHSLWfq+fr83BDAAAAAAEMAAAB", "Path": "\\Inbox"}], "OperationCount": 4}`

	// o365/msdocs-o365mgmtapi_activity-api-reference_retrieve-content-blob_response.json, element 0
	msdocsPasswordLogonFailed = `{"CreationTime":"2015-06-29T20:03:19","Id":"80c76bd2-9d81-4c57-a97a-accfc3443dca","Operation":"PasswordLogonInitialAuthUsingPassword","OrganizationId":"41463f53-8812-40f4-890f-865bf6e35190","RecordType":9,"ResultStatus":"failed","UserKey":"1153977025279851686@contoso.onmicrosoft.com","UserType":0,"Workload":"AzureActiveDirectory","ClientIP":"134.170.188.221","ObjectId":"admin@contoso.onmicrosoft.com","UserId":"admin@contoso.onmicrosoft.com","AzureActiveDirectoryEventType":0,"ExtendedProperties":[{"Name":"LoginError","Value":"-2147217390;PP_E_BAD_PASSWORD;The entered and stored passwords do not match."}],"Client":"Exchange","LoginStatus":-2147217390,"UserDomain":"contoso.onmicrosoft.com"}`

	// o365/elastic-integrations_test-exchange-item.log, line 1
	elasticExchangeCreate = `{"OrganizationName":"testsiem.onmicrosoft.com","UserKey":"S-1-5-18","MailboxGuid":"26286ffa-073d-45ff-9fe9-539891984d69","OrganizationId":"b86ab9d4-fcf1-4b11-8a06-7a8f91b47fbd","Operation":"Create","ClientIPAddress":"::1","Item":{"InternetMessageId":"<AM6PR01MB4535D305187FEC8127CF8EDFEE160@AM6PR01MB4535.eurprd01.prod.exchangelabs.com>","IsRecord":false,"Id":"RgAAAACklF6sEsJgSK/ulVd531/WBwCzgXIUnq3lQqXFeCmxHwmHAAAAAAEMAACzgXIUnq3lQqXFeCmxHwmHAAAAABULAAAJ","Attachments":"warming_email_03_2017_calendar.png (599b); warming_email_03_2017_conversation.png (614b); warming_email_03_2017_links.png (1403b); google_play_store_badge.png (4824b); apple_store_badge.png (4446b); windows_store_badge.png (3681b); warming_email_03_2017_files.png (809b); warming_email_03_2017_sharePoint.png (1432b)","ParentFolder":{"Path":"\\Inbox","Id":"LgAAAACklF6sEsJgSK/ulVd531/WAQCzgXIUnq3lQqXFeCmxHwmHAAAAAAEMAAAB"},"Subject":"The new SIEMTest group is ready"},"LogonUserSid":"S-1-5-18","OriginatingServer":"AM6PR01MB4535 (15.20.225.32)\n","RecordType":2,"Version":1,"ClientInfoString":"Client=WebServices;Action=ConfigureGroupMailbox","MailboxOwnerUPN":"SIEMTest@testsiem.onmicrosoft.com","MailboxOwnerMasterAccountSid":"S-1-5-10","MailboxOwnerSid":"S-1-5-21-3422892061-1135328251-2670905592-26680073","ResultStatus":"Succeeded","ExternalAccess":true,"LogonType":1,"ClientIP":"::1","Workload":"Exchange","InternalLogonType":1,"UserId":"S-1-5-18","CreationTime":"2020-02-17T17:12:03","Id":"3be78a31-dbd3-4c2c-eaf9-08d7b3cc8226","UserType":2}`

	// entra_signin_graph/graph-docs_v1.0_signin-list_example1_response.fixed.json, value[0]
	graphV1SignIn = `{"id":"66ea54eb-6301-4ee5-be62-ff5a759b0100","createdDateTime":"2020-03-13T19:15:41.6195833Z","userDisplayName":"Test Contoso","userPrincipalName":"testaccount1@contoso.com","userId":"26be570a-ae82-4189-b4e2-a37c6808512d","appId":"de8bc8b5-d9f9-48b1-a8ad-b748da725064","appDisplayName":"Graph explorer","ipAddress":"131.107.159.37","clientAppUsed":"Browser","correlationId":"d79f5bee-5860-4832-928f-3133e22ae912","conditionalAccessStatus":"notApplied","isInteractive":true,"riskDetail":"none","riskLevelAggregated":"none","riskLevelDuringSignIn":"none","riskState":"none","riskEventTypes":[],"resourceDisplayName":"Microsoft Graph","resourceId":"00000003-0000-0000-c000-000000000000","status":{"errorCode":0,"failureReason":null,"additionalDetails":null},"deviceDetail":{"deviceId":"","displayName":null,"operatingSystem":"Windows 10","browser":"Edge 80.0.361","isCompliant":null,"isManaged":null,"trustType":null},"location":{"city":"Redmond","state":"Washington","countryOrRegion":"US","geoCoordinates":{"altitude":null,"latitude":47.68050003051758,"longitude":-122.12094116210938}},"appliedConditionalAccessPolicies":[{"id":"de7e60eb-ed89-4d73-8205-2227def6b7c9","displayName":"SharePoint limited access for guest workers","enforcedGrantControls":[],"enforcedSessionControls":[],"result":"notEnabled"},{"id":"6701123a-b4c6-48af-8565-565c8bf7cabc","displayName":"Medium signin risk block","enforcedGrantControls":[],"enforcedSessionControls":[],"result":"notEnabled"}]}`
	// entra_signin_graph/graph-docs_beta_signin-list_example1_response.json,
	// value[0], with its duplicate keys (homeTenantId, uniqueTokenIdentifier,
	// isTenantRestricted) kept.
	graphBetaSignIn = `{"id":"1691d37b-8579-43a7-966a-0f35583c1300","createdDateTime":"2021-06-30T16:34:32Z","userDisplayName":"Test contoso","userPrincipalName":"testaccount1@contoso.com","userId":"26be570a-1111-5555-b4e2-a37c6808512d","appId":"c44b4083-3bb0-49c1-b47d-974e53cbdf3c","appDisplayName":"Azure Portal","ipAddress":"131.107.159.37","clientAppUsed":"Browser","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.114 Safari/537.36 Edg/91.0.864.54","correlationId":"5d295068-919b-4017-85d8-44be2f5f5483","conditionalAccessStatus":"notApplied","originalRequestId":"7dccb0d7-1041-4d82-b785-d865272e1400","authenticationProtocol": "oAuth2","incomingTokenType": "Primary Refresh Token","isInteractive":true,"homeTenantId": "4f7a7bc2-28e2-46a3-b90e-5ade5bc90138","homeTenantName": "","isTenantRestricted": false,"tokenIssuerName":"","tokenIssuerType":"AzureAD","processingTimeInMilliseconds":761,"riskDetail":"none","riskLevelAggregated":"none","riskLevelDuringSignIn":"none","riskState":"none","riskEventTypes_v2":[],"resourceDisplayName":"Windows Azure Service Management API","resourceId":"797f4846-ba00-4fd7-ba43-dac1f8f63013","resourceTenantId":"99081087-73c4-48d1-a112-f60ff75114f7","homeTenantId":"99081087-73c4-48d1-a112-f60ff75114f7","authenticationMethodsUsed":[],"authenticationRequirement":"singleFactorAuthentication","uniqueTokenIdentifier": "ZTE0OTk3YTQtZjg5Mi00YjBiLWIwNTEtZmViZTA1YzJhNDli","signInIdentifier":"testaccount1@contoso.com","signInEventTypes":["interactiveUser"],"servicePrincipalId":"","uniqueTokenIdentifier": "ZTE0OTk3YTQtZjg5Mi00YjBiLWIwNTEtZmViZTA1YzJhNDli","userType":"member","flaggedForReview":false,"isTenantRestricted":false,"autonomousSystemNumber":3598,"crossTenantAccessType":"none","status":{"errorCode":50126,"failureReason":"Error validating credentials due to invalid username or password.","additionalDetails":"The user didn't enter the right credentials. \u00a0It's expected to see some number of these errors in your logs due to users making mistakes."},"deviceDetail":{"deviceId":"","displayName":"","operatingSystem":"Windows 10","browser":"Edge 91.0.864","isCompliant":false,"isManaged":false,"trustType":""},"location":{"city":"Redmond","state":"Washington","countryOrRegion":"US","geoCoordinates":{}},"appliedConditionalAccessPolicies":[],"authenticationProcessingDetails":[{"key":"Login Hint Present","value":"True"}],"networkLocationDetails":[{"networkType":"namedNetwork","networkNames":["North America"]}],"authenticationDetails":[{"authenticationStepDateTime":"2021-06-30T16:34:32Z","authenticationMethod":"Password","authenticationMethodDetail":"Password in the cloud","succeeded":false,"authenticationStepResultDetail":"Invalid username or password or Invalid on-premise username or password.","authenticationStepRequirement":"Primary authentication"}],"authenticationRequirementPolicies":[],"sessionLifetimePolicies":[]}`

	// entra_signin_azuremonitor/elastic-integrations_test-signinlogs-raw.log, lines 1 and 2
	azureMonitorSignIn               = `{"Level":"4","callerIpAddress":"81.2.69.144","category":"SignInLogs","correlationId":"8a4de8b5-095c-47d0-a96f-a75130c61d53","durationMs":0,"identity":"Test LTest","location":"FR","operationName":"Sign-in activity","operationVersion":"1.0","properties":{"appDisplayName":"Office 365","appId":"8a4de8b5-095c-47d0-a96f-a75130c61d53","clientAppUsed":"Browser","conditionalAccessStatus":"notApplied","correlationId":"8a4de8b5-095c-47d0-a96f-a75130c61d53","createdDateTime":"2019-10-18T04:45:48.0729893-05:00","deviceDetail":{"browser":"Chrome 77.0.3865","deviceId":"","operatingSystem":"MacOs"},"id":"8a4de8b5-095c-47d0-a96f-a75130c61d53","ipAddress":"81.2.69.144","isInteractive":false,"location":{"city":"Champs-Sur-Marne","countryOrRegion":"FR","geoCoordinates":{"latitude":48.12341234,"longitude":2.12341234},"state":"Seine-Et-Marne"},"originalRequestId":"8a4de8b5-095c-47d0-a96f-a75130c61d53","processingTimeInMilliseconds":239,"riskDetail":"none","riskLevelAggregated":"none","riskLevelDuringSignIn":"none","riskState":"none","servicePrincipalId":"","status":{"errorCode":50140,"failureReason":"This error occurred due to 'Keep me signed in' interrupt when the user was signing-in."},"tokenIssuerName":"","tokenIssuerType":"AzureAD","userDisplayName":"Test LTest","userId":"8a4de8b5-095c-47d0-a96f-a75130c61d53","userPrincipalName":"test@elastic.co"},"resourceId":"/tenants/8a4de8b5-095c-47d0-a96f-a75130c61d53/providers/Microsoft.aadiam","resultDescription":"This error occurred due to 'Keep me signed in' interrupt when the user was signing-in.","resultSignature":"None","resultType":"50140","tenantId":"8a4de8b5-095c-47d0-a96f-a75130c61d53","time":"2019-10-18T09:45:48.0729893Z"}`
	azureMonitorNonInteractiveSignIn = `{"Level":"4","callerIpAddress":"81.2.69.144","category":"NonInteractiveUserSignInLogs","correlationId":"a8d4eb85-90c5-740d-9af6-7a15036cd135","durationMs":0,"identity":"Test LTest","location":"FR","operationName":"Sign-in activity","operationVersion":"1.0","properties":{"appDisplayName":"Office 365","appId":"8a4de8b5-095c-47d0-a96f-a75130c61d53","clientAppUsed":"Browser","conditionalAccessStatus":"notApplied","correlationId":"8a4de8b5-095c-47d0-a96f-a75130c61d53","createdDateTime":"2019-10-18T04:45:48.0729893-05:00","deviceDetail":{"browser":"Chrome 77.0.3865","deviceId":"","operatingSystem":"MacOs"},"id":"8a4de8b5-095c-47d0-a96f-a75130c61d53","ipAddress":"81.2.69.144","isInteractive":false,"location":{"city":"Champs-Sur-Marne","countryOrRegion":"FR","geoCoordinates":{"latitude":48.12341234,"longitude":2.12341234},"state":"Seine-Et-Marne"},"originalRequestId":"8a4de8b5-095c-47d0-a96f-a75130c61d53","processingTimeInMilliseconds":239,"riskDetail":"none","riskLevelAggregated":"none","riskLevelDuringSignIn":"none","riskState":"none","servicePrincipalId":"","status":{"errorCode":50140,"failureReason":"This error occurred due to 'Keep me signed in' interrupt when the user was signing-in.","additionalDetails":"MFA required"},"tokenIssuerName":"","tokenIssuerType":"AzureAD","userDisplayName":"Test LTest","userId":"8a4de8b5-095c-47d0-a96f-a75130c61d53","userPrincipalName":"c3813493-bf92-5123-2717-8a8b2979c38b"},"resourceId":"/tenants/8a4de8b5-095c-47d0-a96f-a75130c61d53/providers/Microsoft.aadiam","resultDescription":"This error occurred due to 'Keep me signed in' interrupt when the user was signing-in.","resultSignature":"None","resultType":"50140","tenantId":"8a4de8b5-095c-47d0-a96f-a75130c61d53","time":"2019-10-18T09:45:48.0729893Z"}`
	// entra_signin_azuremonitor/elastic-integrations_test-service-principal.log
	azureMonitorServicePrincipal = `{"Level":4,"callerIpAddress":"11.22.33.44","category":"ServicePrincipalSignInLogs","correlationId":"22222222-ece3-41ca-8e0d-1f1e1d8ac81a","durationMs":0,"location":"DE","operationName":"Sign-in activity","operationVersion":"1.0","properties":{"appId":"22222222-ddf2-4ab6-b25f-f23d5d614338","correlationId":"22222222-ece3-41ca-8e0d-1f1e1d8ac81a","createdDateTime":"2021-07-30T11:29:26.6733668+00:00","crossTenantAccessType":"none","flaggedForReview":false,"id":"22222222-5ec0-4795-bf9f-9017bcc32f00","ipAddress":"11.22.33.44","isInteractive":false,"isTenantRestricted":false,"location":{"city":"Hannover","countryOrRegion":"DE","geoCoordinates":{"latitude":50.12345678912345,"longitude":9.123456789012345},"state":"Niedersachsen"},"processingTimeInMilliseconds":0,"resourceDisplayName":"Configuration Manager Microservice","resourceId":"22222222-c916-4293-8373-d584996f60ae","riskDetail":"none","riskLevelAggregated":"low","riskLevelDuringSignIn":"low","riskState":"none","servicePrincipalId":"22222222-4677-43b4-a1dc-ecb3230e9350","servicePrincipalName":"ConfigMgrSvc_22222222-dfb4-4070-ad95-cf1e68280bb0","status":{"errorCode":7000222},"tokenIssuerType":"AzureAD","userId":null},"resourceId":"/tenants/1111111111-902d-4dea-8026-5a790862fede/providers/Microsoft.aadiam","resultSignature":"None","resultType":"7000222","tenantId":"1111111111-902d-4dea-8026-5a790862fede","time":"2021-07-30T11:29:26.6733668Z"}`

	// google_workspace/splunk-security_content_google_workspace_login_success.json
	googleLoginSuccess = `{"kind": "admin#reports#activity", "id": {"time": "2022-10-13T20:57:35.833Z", "uniqueQualifier": "437744618349", "applicationName": "login", "customerId": "C046r85ir"}, "etag": "\"JCPRxFaiNR1s5TJ6ecIH8OpGdY4efiOYXbIB65itOzY/OgAbD-Tz8hSD1vUJWw7NLiJ5SF4\"", "actor": {"email": "user1@splunkresearch.com", "profileId": "112184723778873345717"}, "ipAddress": "45.23.129.123", "event": {"type": "login", "name": "login_success", "parameters": [{"name": "login_type", "value": "google_password"}, {"name": "login_challenge_method", "multiValue": ["password", "password", "password", "password", "password"]}, {"name": "is_suspicious", "boolValue": false}]}}`
	// google_workspace/elastic-integrations_test-login.log, line 2
	googleSuspiciousLogin = `{"kind":"admin#reports#activity","id":{"time":"2020-10-02T15:00:00Z","uniqueQualifier":1,"applicationName":"login","customerId":"1"},"actor":{"callerType":"USER","email":"foo@bar.com","profileId":1},"ownerDomain":"elastic.com","ipAddress":"67.43.156.13","events":{"type":"account_warning","name":"suspicious_login","parameters":[{"name":"affected_email_address","value":"foo@elastic.co"},{"name":"login_timestamp","intValue":1593695305123456}]}}`
	// google_workspace/elastic-integrations_test-user-accounts.log, line 9
	googleForwardingOutOfDomain = `{"kind":"admin#reports#activity","id":{"time":"2020-10-02T15:00:00Z","uniqueQualifier":1,"applicationName":"user_accounts","customerId":"1"},"actor":{"callerType":"USER","email":"foo@bar.com","profileId":1},"ownerDomain":"elastic.com","ipAddress":"67.43.156.13","events":{"name": "email_forwarding_out_of_domain","parameters":[{"name": "email_forwarding_destination_address","value": "[user@email.com](mailto:user@email.com)"}],"type": "email_forwarding_change"}}`

	// entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_add_member_to_role.json
	entraAuditAddMemberToRole = `{"time": "2023-04-28T16:39:51.9312625Z", "resourceId": "/tenants/fc69e276-e9e8-4af9-9002-1e410d77244e/providers/Microsoft.aadiam", "operationName": "Add member to role", "operationVersion": "1.0", "category": "AuditLogs", "tenantId": "fc69e276-e9e8-4af9-9002-1e410d77244e", "resultSignature": "None", "durationMs": 0, "callerIpAddress": "52.177.250.168", "correlationId": "b425f2d7-2245-4952-b599-61dff8054f2b", "Level": 4, "properties": {"id": "Directory_b425f2d7-2245-4952-b599-61dff8054f2b_FLAW0_72812697", "category": "RoleManagement", "correlationId": "b425f2d7-2245-4952-b599-61dff8054f2b", "result": "success", "resultReason": "", "activityDisplayName": "Add member to role", "activityDateTime": "2023-04-28T16:39:51.9312625+00:00", "loggedByService": "Core Directory", "operationType": "Assign", "userAgent": null, "initiatedBy": {"user": {"id": "3bd47e42-37c9-442f-a2b4-f04de61ef0ce", "displayName": null, "userPrincipalName": "strt_admin@splunkresearch.com", "ipAddress": "52.177.250.168", "roles": []}}, "targetResources": [{"id": "0d664d57-a3ee-4049-8642-280a5c7243ef", "displayName": null, "type": "User", "userPrincipalName": "User1@splunkresearch.com", "modifiedProperties": [{"displayName": "Role.ObjectID", "oldValue": null, "newValue": "\"38bf5baf-7ec7-4bc2-8920-6d4044da12c2\""}, {"displayName": "Role.DisplayName", "oldValue": null, "newValue": "\"Privileged Role Administrator\""}, {"displayName": "Role.TemplateId", "oldValue": null, "newValue": "\"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3\""}, {"displayName": "Role.WellKnownObjectName", "oldValue": null, "newValue": "\"ApplicationAdministrators\""}], "administrativeUnits": []}, {"id": "38bf5baf-7ec7-4bc2-8920-6d4044da12c2", "displayName": null, "type": "Role", "modifiedProperties": [], "administrativeUnits": []}], "additionalDetails": []}}`
	// azure_activity_mscs/splunk-security_content_azure_audit_create_or_update_an_azure_automation_account.json
	azureActivityAutomationAccount = `{"authorization": {"action": "Microsoft.Automation/automationAccounts/write", "scope": "/subscriptions/67165197-75ea-4ca3-96a5-3e23868eacd0/resourcegroups/ResourceGroup1/providers/Microsoft.Automation/automationAccounts/TestAutomationAccount"}, "caller": "evilAdmin@contoso.com", "channels": "Operation", "claims": {"aud": "https://management.core.windows.net/", "iss": "https://sts.windows.net/ad251139-d600-4f45-a8ba-9f6ca1e5a93d/", "iat": "1661179930", "nbf": "1661179930", "exp": "1661185179", "http://schemas.microsoft.com/claims/authnclassreference": "1", "aio": "AWQAm/8TAAAATFEszAxfULi02mHZwJPr322a2w4m7xjhs9xgc61bVQITM6lcvJI17c8SKQGIWgIA0FysfS1bmLHdxImNfT26qJ5Sfc5UdTncHkz3UYu+AvgCW1gg1mRxOZEFXYdIlQ/h", "altsecid": "1:live.com:000161008492EF5F", "http://schemas.microsoft.com/claims/authnmethodsreferences": "pwd,mfa", "appid": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "appidacr": "2", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": "evilAdmin@contoso.com", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname": "Doe", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname": "John", "groups": "ecb1fc87-1938-45ff-aaf3-661cee183b11", "http://schemas.microsoft.com/identity/claims/identityprovider": "live.com", "ipaddr": "190.0.0.1", "name": "John Doe", "http://schemas.microsoft.com/identity/claims/objectidentifier": "74b87c49-c202-4101-a8aa-ef18ecc815e8", "puid": "1003200203ECE231", "rh": "0.AX0AORElrQDWRU-oup9soeWpPUZIf3kAutdPukPawfj2MBOaAIM.", "http://schemas.microsoft.com/identity/claims/scope": "user_impersonation", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier": "VVjyH6MJP7pqXTBGCn4NMckGNjX-aYB_Oh7LcI9kaDw", "http://schemas.microsoft.com/identity/claims/tenantid": "ad251139-d600-4f45-a8ba-9f6ca1e5a93d", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name": "contoso.com#evilAdmin@contoso.com", "uti": "OyNAqM760kmqzxVr6jwtAA", "ver": "1.0", "wids": "62e90394-69f5-4237-9190-012177145e10", "xms_tcdt": "1654791641"}, "correlationId": "59e3de3b-b8c6-4360-9bc5-f094ebce6422", "description": "", "eventDataId": "b0a0bf02-57e5-4eb3-a36d-f2681d874637", "eventName": {"value": "EndRequest", "localizedValue": "End request"}, "eventSource": {"value": "Administrative", "localizedValue": "Administrative"}, "id": "/subscriptions/67165197-75ea-4ca3-96a5-3e23868eacd0/resourcegroups/ResourceGroup1/providers/Microsoft.Automation/automationAccounts/TestAutomationAccount/events/b0a0bf02-57e5-4eb3-a36d-f2681d874637/ticks/637967777618694806", "level": "Informational", "resourceGroupName": "ResourceGroup1", "resourceProviderName": {"value": "Microsoft.Automation", "localizedValue": "Microsoft.Automation"}, "resourceUri": "/subscriptions/67165197-75ea-4ca3-96a5-3e23868eacd0/resourcegroups/ResourceGroup1/providers/Microsoft.Automation/automationAccounts/TestAutomationAccount", "operationId": "6a420172-1ccd-4144-ac12-3095b4019ed5", "operationName": {"value": "Microsoft.Automation/automationAccounts/write", "localizedValue": "Create or Update an Azure Automation account"}, "properties": {"eventCategory": "Administrative", "entity": "/subscriptions/67165197-75ea-4ca3-96a5-3e23868eacd0/resourcegroups/ResourceGroup1/providers/Microsoft.Automation/automationAccounts/TestAutomationAccount", "message": "Microsoft.Automation/automationAccounts/write", "hierarchy": "67165197-75ea-4ca3-96a5-3e23868eacd0"}, "status": {"value": "Succeeded", "localizedValue": "Succeeded"}, "subStatus": {"value": "", "localizedValue": ""}, "eventTimestamp": "2022-08-22T15:09:21.8694806Z", "submissionTimestamp": "2022-08-22T15:10:51.152208Z", "subscriptionId": "67165197-75ea-4ca3-96a5-3e23868eacd0"}`
)

// TestParseRealRecords checks the whole view of each real record against an
// expectation written by reading the record, not by running the parser.
func TestParseRealRecords(t *testing.T) {
	runParseCases(t, []parseCase{
		{
			// An admin (UserType 2) creating a rule in their own mailbox from
			// OWA: no -Mailbox or -Identity, so the target is the actor.
			name: "huntress New-InboxRule",
			body: huntressNewInboxRule,
			want: auditrecord.Record{
				Source: auditrecord.SourceO365, Kind: auditrecord.KindMailboxChange,
				ID:   "b742cf44-bcef-4fdb-6279-08dbbe3516e3",
				Time: ts("2023-09-26T02:05:42Z"), Operation: "New-InboxRule",
				Result: auditrecord.ResultSuccess,
				Actor:  "debrab@m365b132131.onmicrosoft.com", Target: "debrab@m365b132131.onmicrosoft.com",
				User: "debrab@m365b132131.onmicrosoft.com", ActorUserType: 2,
				ClientAddress: "185.73.124.135", ClientIP: ip("185.73.124.135"),
				CloudProvider: "azure", TenantID: "df233d94-fed3-4436-bf9a-a799fb85a159",
				TenantDomain: "m365b132131.onmicrosoft.com",
				AppID:        "00000002-0000-0ff1-ce00-000000000000",
				TokenID:      "3kVZRE8tFkinHtPA7_EFAA", // AppAccessContext.UniqueTokenId
				Parameters: []auditrecord.Parameter{
					{Name: "AlwaysDeleteOutlookRulesBlob", Value: "False"},
					{Name: "Force", Value: "False"},
					{Name: "From", Value: "flag@ctf.com"},
					{Name: "MoveToFolder", Value: "Inbox"},
					{Name: "Name", Value: "3"},
					{Name: "MarkAsRead", Value: "True"},
					{Name: "StopProcessingRules", Value: "True"},
				},
				Mail: noMail,
			},
		},
		{
			// Exchange's own service provisioning a system mailbox: the
			// target is the -Identity it names, a directory path, not a user.
			name: "huntress Set-Mailbox by NT AUTHORITY SYSTEM",
			body: huntressSetMailboxSystem,
			want: auditrecord.Record{
				Source: auditrecord.SourceO365, Kind: auditrecord.KindMailboxChange,
				ID:   "0cb4a000-77f7-4497-8d66-08dbbbed1d2b",
				Time: ts("2023-09-23T04:25:27Z"), Operation: "Set-Mailbox",
				Result:        auditrecord.ResultSuccess,
				Actor:         `nt authority\system (microsoft.exchange.servicehost)`,
				Target:        "nampr10a011.prod.outlook.com/microsoft exchange hosted organizations/m365b132131.onmicrosoft.com/systemmailbox{e0dc1c29-89c3-4034-b678-e6c29d823ed9}",
				User:          "nampr10a011.prod.outlook.com/microsoft exchange hosted organizations/m365b132131.onmicrosoft.com/systemmailbox{e0dc1c29-89c3-4034-b678-e6c29d823ed9}",
				ActorUserType: 3,
				CloudProvider: "azure", TenantID: "df233d94-fed3-4436-bf9a-a799fb85a159",
				TenantDomain: "m365b132131.onmicrosoft.com",
				Parameters: []auditrecord.Parameter{
					{Name: "Arbitration", Value: "True"},
					{Name: "Identity", Value: "NAMPR10A011.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/M365B132131.onmicrosoft.com/SystemMailbox{e0dc1c29-89c3-4034-b678-e6c29d823ed9}"},
					{Name: "UMDataStorage", Value: "True"},
					{Name: "Force", Value: "True"},
				},
				Mail: noMail,
			},
		},
		{
			// An admin changing another user's mailbox: -Identity names bob.
			name: "splunk Set-Mailbox on another user",
			body: splunkSetMailbox,
			want: auditrecord.Record{
				Source: auditrecord.SourceO365, Kind: auditrecord.KindMailboxChange,
				ID:   "a6a52406-0912-448d-36eb-08d8a1bea6be",
				Time: ts("2020-12-16T12:32:28Z"), Operation: "Set-Mailbox",
				Result: auditrecord.ResultSuccess,
				Actor:  "pbareiss@rodsoto.onmicrosoft.com", Target: "bpatel@rodsoto.onmicrosoft.com",
				User: "bpatel@rodsoto.onmicrosoft.com", ActorUserType: 2,
				ClientAddress: "18.192.200.190", ClientIP: ip("18.192.200.190"),
				CloudProvider: "azure", TenantID: "0e8108b1-18e9-41a4-961b-dfcddf92ef08",
				TenantDomain: "rodsoto.onmicrosoft.com",
				Parameters: []auditrecord.Parameter{
					{Name: "ForwardingAddress", Value: ""},
					{Name: "Identity", Value: "bpatel@rodsoto.onmicrosoft.com"},
				},
				Mail: noMail,
			},
		},
		{
			// -Identity is an alias here; the view keeps it as written.
			name: "splunk Add-MailboxPermission",
			body: splunkAddMailboxPermission,
			want: auditrecord.Record{
				Source: auditrecord.SourceO365, Kind: auditrecord.KindMailboxChange,
				ID:   "bb6e31a3-e98f-493d-bbff-08d8a0e2d2b0",
				Time: ts("2020-12-15T10:18:53Z"), Operation: "Add-MailboxPermission",
				Result: auditrecord.ResultSuccess,
				Actor:  "pbareiss@rodsoto.onmicrosoft.com", Target: "jhernan", User: "jhernan",
				ActorUserType: 2,
				ClientAddress: "18.159.234.121", ClientIP: ip("18.159.234.121"),
				CloudProvider: "azure", TenantID: "0e8108b1-18e9-41a4-961b-dfcddf92ef08",
				TenantDomain: "rodsoto.onmicrosoft.com",
				Parameters: []auditrecord.Parameter{
					{Name: "Identity", Value: "jhernan"},
					{Name: "User", Value: "Patrick Bareiss"},
					{Name: "AccessRights", Value: "FullAccess"},
					{Name: "InheritanceType", Value: "All"},
				},
				Mail: noMail,
			},
		},
		{
			// ErrorNumber 50140 is the "keep me signed in" interrupt on a
			// UserLoggedIn: the operation says success, so no error code.
			name: "huntress UserLoggedIn with ErrorNumber 50140",
			body: huntressUserLoggedIn,
			want: auditrecord.Record{
				Source: auditrecord.SourceO365, Kind: auditrecord.KindSignIn,
				ID:   "27847b7f-eaf5-4e9a-922e-92fe7f010600",
				Time: ts("2023-09-26T02:12:55Z"), Operation: "UserLoggedIn",
				Result: auditrecord.ResultSuccess,
				Actor:  "alexw@m365b132131.onmicrosoft.com", Target: "alexw@m365b132131.onmicrosoft.com",
				User: "alexw@m365b132131.onmicrosoft.com", ActorUserType: 0,
				ClientAddress: "185.73.124.135", ClientIP: ip("185.73.124.135"),
				UserAgent:     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:109.0) Gecko/20100101 Firefox/114.0",
				CloudProvider: "azure", TenantID: "df233d94-fed3-4436-bf9a-a799fb85a159",
				AppID:     "00000002-0000-0ff1-ce00-000000000000",
				SessionID: "875d65bf-f95f-4f99-a593-e5258ee48003",
				SignIn:    auditrecord.SignIn{Interactive: true, ClientApp: "Login:login"},
				Mail:      noMail,
			},
		},
		{
			// ResultStatus "Success" only says the audit write succeeded; the
			// operation is the failure, ErrorNumber its code.
			name: "huntress UserLoginFailed with ResultStatus Success",
			body: huntressUserLoginFailed,
			want: auditrecord.Record{
				Source: auditrecord.SourceO365, Kind: auditrecord.KindSignIn,
				ID:   "b21a7da1-bd08-44ec-ac88-be14ae4d0500",
				Time: ts("2023-09-26T01:51:13Z"), Operation: "UserLoginFailed",
				Result: auditrecord.ResultFailure, ErrorCode: "50126",
				Actor: "debrab@m365b132131.onmicrosoft.com", Target: "debrab@m365b132131.onmicrosoft.com",
				User: "debrab@m365b132131.onmicrosoft.com", ActorUserType: 0,
				ClientAddress: "185.73.124.135", ClientIP: ip("185.73.124.135"),
				UserAgent:     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:109.0) Gecko/20100101 Firefox/114.0",
				CloudProvider: "azure", TenantID: "df233d94-fed3-4436-bf9a-a799fb85a159",
				AppID: "ee272b19-4411-433f-8f28-5c13cb6fd407",
				SignIn: auditrecord.SignIn{
					Interactive: true, ClientApp: "Login:login",
					FailureDetail: "InvalidUserNameOrPassword",
				},
				Mail: noMail,
			},
		},
		{
			// The published sample's 17:08:65 reads as 17:09:05; its
			// OAuth2:Token request is a token redemption, not interactive.
			name: "splunk UserLoginFailed with invalid seconds",
			body: splunkUserLoginFailed,
			want: auditrecord.Record{
				Source: auditrecord.SourceO365, Kind: auditrecord.KindSignIn,
				ID:   "4593aac8-855f-4341-9d2a-4289146eb800",
				Time: ts("2023-10-10T17:09:05Z"), Operation: "UserLoginFailed",
				Result: auditrecord.ResultFailure, ErrorCode: "50126",
				Actor: "user30@contoso.onmicrosoft.com", Target: "user30@contoso.onmicrosoft.com",
				User: "user30@contoso.onmicrosoft.com", ActorUserType: 0,
				ClientAddress: "52.3.21.4", ClientIP: ip("52.3.21.4"),
				UserAgent:     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/104.0.0.0 Safari/537.36",
				CloudProvider: "azure", TenantID: "d541aae6-6b73-4a7c-aaf0-a4de30c872bc",
				AppID: "9ba1a5c7-f17a-4de9-a1f1-6178c8d51223",
				SignIn: auditrecord.SignIn{
					Interactive: false, ClientApp: "OAuth2:Token",
					FailureDetail: "InvalidUserNameOrPassword",
				},
				Mail: noMail,
			},
		},
		{
			// RecordType 9 (AzureActiveDirectoryAccountLogon) with a lowercase
			// "failed"; the code is LoginStatus, the words LoginError.
			name: "msdocs PasswordLogonInitialAuthUsingPassword failed",
			body: msdocsPasswordLogonFailed,
			want: auditrecord.Record{
				Source: auditrecord.SourceO365, Kind: auditrecord.KindSignIn,
				ID:   "80c76bd2-9d81-4c57-a97a-accfc3443dca",
				Time: ts("2015-06-29T20:03:19Z"), Operation: "PasswordLogonInitialAuthUsingPassword",
				Result: auditrecord.ResultFailure, ErrorCode: "-2147217390",
				Actor: "admin@contoso.onmicrosoft.com", Target: "admin@contoso.onmicrosoft.com",
				User: "admin@contoso.onmicrosoft.com", ActorUserType: 0,
				ClientAddress: "134.170.188.221", ClientIP: ip("134.170.188.221"),
				CloudProvider: "azure", TenantID: "41463f53-8812-40f4-890f-865bf6e35190",
				TenantDomain: "contoso.onmicrosoft.com",
				SignIn: auditrecord.SignIn{
					Interactive:   true,
					FailureDetail: "-2147217390;PP_E_BAD_PASSWORD;The entered and stored passwords do not match.",
				},
				Mail: noMail,
			},
		},
		{
			// RecordType 50 (aggregated mailbox access); the accessed
			// messages sit under Folders[].FolderItems, which the view does
			// not read (see the open question in the hand-off note).
			name: "splunk MailItemsAccessed",
			body: splunkMailItemsAccessed,
			want: auditrecord.Record{
				Source: auditrecord.SourceO365, Kind: auditrecord.KindMailItem,
				ID:   "9cef02e9-4bfa-4c73-be7d-9dad68b9cea8",
				Time: ts("2024-02-01T16:07:34Z"), Operation: "MailItemsAccessed",
				Result: auditrecord.ResultSuccess,
				Actor:  "user15@splunkresearch.onmicrosoft.com", Target: "user15@splunkresearch.onmicrosoft.com",
				User: "user15@splunkresearch.onmicrosoft.com", ActorUserType: 0,
				ClientAddress: "120.1.121.35", ClientIP: ip("120.1.121.35"),
				CloudProvider: "azure", TenantID: "75243ab2-44f8-435c-a7a6-b479385df6d4",
				TenantDomain: "splunkresearch.onmicrosoft.com",
				AppID:        "47629505-c2b6-4a80-adb1-9b3a3d233b7b",
				OperationProperties: []auditrecord.Parameter{
					{Name: "MailAccessType", Value: "Bind"},
					{Name: "IsThrottled", Value: "False"},
				},
				Mail: auditrecord.Mail{
					ClientInfo: "Client=WebServices;ExchangeWebServicesProxy/CrossSite/EXCH/15.20.7249.024/python-requests/2.25.1[AppId=47629505-c2b6-4a80-adb1-9b3a3d233b7b];",
					LogonType:  0,
					AccessType: "Bind",
					Accessed:   4, // OperationCount; Folders lists the same 4 items
				},
			},
		},
		{
			// A system account (S-1-5-18) creating an item in a group
			// mailbox: the target is MailboxOwnerUPN, not the actor.
			name: "elastic exchange-item Create",
			body: elasticExchangeCreate,
			want: auditrecord.Record{
				Source: auditrecord.SourceO365, Kind: auditrecord.KindMailItem,
				ID:   "3be78a31-dbd3-4c2c-eaf9-08d7b3cc8226",
				Time: ts("2020-02-17T17:12:03Z"), Operation: "Create",
				Result: auditrecord.ResultSuccess,
				Actor:  "s-1-5-18", Target: "siemtest@testsiem.onmicrosoft.com",
				User: "siemtest@testsiem.onmicrosoft.com", ActorUserType: 2,
				ClientAddress: "::1", ClientIP: ip("::1"),
				CloudProvider: "azure", TenantID: "b86ab9d4-fcf1-4b11-8a06-7a8f91b47fbd",
				TenantDomain: "testsiem.onmicrosoft.com",
				Mail: auditrecord.Mail{
					Items: []auditrecord.MailItem{{
						Subject:           "The new SIEMTest group is ready",
						InternetMessageID: "<AM6PR01MB4535D305187FEC8127CF8EDFEE160@AM6PR01MB4535.eurprd01.prod.exchangelabs.com>",
						Folder:            `\Inbox`,
					}},
					ClientInfo: "Client=WebServices;Action=ConfigureGroupMailbox",
					LogonType:  1,
				},
			},
		},
		{
			name: "graph v1.0 sign-in",
			body: graphV1SignIn,
			want: auditrecord.Record{
				Source: auditrecord.SourceEntraSignIn, Kind: auditrecord.KindSignIn,
				ID:   "66ea54eb-6301-4ee5-be62-ff5a759b0100",
				Time: ts("2020-03-13T19:15:41.6195833Z"), Operation: "Sign-in activity",
				Result: auditrecord.ResultSuccess,
				Actor:  "testaccount1@contoso.com", Target: "testaccount1@contoso.com",
				User: "testaccount1@contoso.com", ActorUserType: -1,
				ClientAddress: "131.107.159.37", ClientIP: ip("131.107.159.37"),
				Geo: auditrecord.Geo{
					Lat: 47.68050003051758, Lon: -122.12094116210938, HasCoordinates: true,
					CountryISO: "US", City: "Redmond",
				},
				CloudProvider: "azure",
				AppID:         "de8bc8b5-d9f9-48b1-a8ad-b748da725064",
				SignIn: auditrecord.SignIn{
					Interactive: true, ClientApp: "Browser",
					RiskLevelDuringSignIn: "none", RiskLevelAggregated: "none", RiskState: "none",
				},
				Mail: noMail,
			},
		},
		{
			// homeTenantId appears twice: the decoder keeps the last value
			// (99081087-...), as encoding/json does; the first would be
			// 4f7a7bc2-.... Empty geoCoordinates are no coordinates.
			name: "graph beta sign-in failure with duplicate keys",
			body: graphBetaSignIn,
			want: auditrecord.Record{
				Source: auditrecord.SourceEntraSignIn, Kind: auditrecord.KindSignIn,
				ID:   "1691d37b-8579-43a7-966a-0f35583c1300",
				Time: ts("2021-06-30T16:34:32Z"), Operation: "Sign-in activity",
				Result: auditrecord.ResultFailure, ErrorCode: "50126",
				Actor: "testaccount1@contoso.com", Target: "testaccount1@contoso.com",
				User: "testaccount1@contoso.com", ActorUserType: -1,
				ClientAddress: "131.107.159.37", ClientIP: ip("131.107.159.37"),
				UserAgent:     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.114 Safari/537.36 Edg/91.0.864.54",
				Geo:           auditrecord.Geo{CountryISO: "US", City: "Redmond"},
				CloudProvider: "azure", TenantID: "99081087-73c4-48d1-a112-f60ff75114f7",
				AppID:   "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
				TokenID: "ZTE0OTk3YTQtZjg5Mi00YjBiLWIwNTEtZmViZTA1YzJhNDli",
				SignIn: auditrecord.SignIn{
					Interactive: true, ClientApp: "Browser",
					RiskLevelDuringSignIn: "none", RiskLevelAggregated: "none", RiskState: "none",
					FailureDetail: "Error validating credentials due to invalid username or password. " +
						"The user didn't enter the right credentials. \u00a0It's expected to see some number of these errors in your logs due to users making mistakes. " +
						"Invalid username or password or Invalid on-premise username or password.",
					ASN:               3598,
					IncomingTokenType: "Primary Refresh Token", AuthenticationRequirement: "singleFactorAuthentication",
				},
				Mail: noMail,
			},
		},
		{
			// The record says isInteractive false, but it is in the
			// SignInLogs category, which holds interactive sign-ins only.
			name: "azure monitor SignInLogs",
			body: azureMonitorSignIn,
			want: auditrecord.Record{
				Source: auditrecord.SourceEntraSignIn, Kind: auditrecord.KindSignIn,
				ID:   "8a4de8b5-095c-47d0-a96f-a75130c61d53",
				Time: ts("2019-10-18T09:45:48.0729893Z"), Operation: "Sign-in activity",
				Result: auditrecord.ResultFailure, ErrorCode: "50140",
				Actor: "test@elastic.co", Target: "test@elastic.co", User: "test@elastic.co",
				ActorUserType: -1,
				ClientAddress: "81.2.69.144", ClientIP: ip("81.2.69.144"),
				Geo: auditrecord.Geo{
					Lat: 48.12341234, Lon: 2.12341234, HasCoordinates: true,
					CountryISO: "FR", City: "Champs-Sur-Marne",
				},
				CloudProvider: "azure", TenantID: "8a4de8b5-095c-47d0-a96f-a75130c61d53",
				AppID: "8a4de8b5-095c-47d0-a96f-a75130c61d53",
				SignIn: auditrecord.SignIn{
					Interactive: true, ClientApp: "Browser",
					RiskLevelDuringSignIn: "none", RiskLevelAggregated: "none", RiskState: "none",
					FailureDetail: "This error occurred due to 'Keep me signed in' interrupt when the user was signing-in.",
					Category:      "SignInLogs",
				},
				Mail: noMail,
			},
		},
		{
			// Same sign-in filed as NonInteractiveUserSignInLogs: the
			// category makes it non-interactive. The UPN is anonymised.
			name: "azure monitor NonInteractiveUserSignInLogs",
			body: azureMonitorNonInteractiveSignIn,
			want: auditrecord.Record{
				Source: auditrecord.SourceEntraSignIn, Kind: auditrecord.KindSignIn,
				ID:   "8a4de8b5-095c-47d0-a96f-a75130c61d53",
				Time: ts("2019-10-18T09:45:48.0729893Z"), Operation: "Sign-in activity",
				Result: auditrecord.ResultFailure, ErrorCode: "50140",
				Actor: "c3813493-bf92-5123-2717-8a8b2979c38b", Target: "c3813493-bf92-5123-2717-8a8b2979c38b",
				User: "c3813493-bf92-5123-2717-8a8b2979c38b", ActorUserType: -1,
				ClientAddress: "81.2.69.144", ClientIP: ip("81.2.69.144"),
				Geo: auditrecord.Geo{
					Lat: 48.12341234, Lon: 2.12341234, HasCoordinates: true,
					CountryISO: "FR", City: "Champs-Sur-Marne",
				},
				CloudProvider: "azure", TenantID: "8a4de8b5-095c-47d0-a96f-a75130c61d53",
				AppID: "8a4de8b5-095c-47d0-a96f-a75130c61d53",
				SignIn: auditrecord.SignIn{
					Interactive: false, ClientApp: "Browser",
					RiskLevelDuringSignIn: "none", RiskLevelAggregated: "none", RiskState: "none",
					FailureDetail: "This error occurred due to 'Keep me signed in' interrupt when the user was signing-in. MFA required",
					Category:      "NonInteractiveUserSignInLogs",
				},
				Mail: noMail,
			},
		},
		{
			// No user (userId null, no UPN): the service principal acts.
			// The tenant comes from the envelope, as the resource has none.
			name: "azure monitor ServicePrincipalSignInLogs",
			body: azureMonitorServicePrincipal,
			want: auditrecord.Record{
				Source: auditrecord.SourceEntraSignIn, Kind: auditrecord.KindSignIn,
				ID:   "22222222-5ec0-4795-bf9f-9017bcc32f00",
				Time: ts("2021-07-30T11:29:26.6733668Z"), Operation: "Sign-in activity",
				Result: auditrecord.ResultFailure, ErrorCode: "7000222",
				Actor:  "configmgrsvc_22222222-dfb4-4070-ad95-cf1e68280bb0",
				Target: "configmgrsvc_22222222-dfb4-4070-ad95-cf1e68280bb0",
				User:   "configmgrsvc_22222222-dfb4-4070-ad95-cf1e68280bb0", ActorUserType: -1,
				ClientAddress: "11.22.33.44", ClientIP: ip("11.22.33.44"),
				Geo: auditrecord.Geo{
					Lat: 50.12345678912345, Lon: 9.123456789012345, HasCoordinates: true,
					CountryISO: "DE", City: "Hannover",
				},
				CloudProvider: "azure", TenantID: "1111111111-902d-4dea-8026-5a790862fede",
				AppID: "22222222-ddf2-4ab6-b25f-f23d5d614338",
				SignIn: auditrecord.SignIn{
					RiskLevelDuringSignIn: "low", RiskLevelAggregated: "low", RiskState: "none",
					Category: "ServicePrincipalSignInLogs",
				},
				Mail: noMail,
			},
		},
		{
			// Splunk renamed "events" to "event"; boolValue false is not
			// suspicious; multiValue reads as a ";" list.
			name: "google login_success",
			body: googleLoginSuccess,
			want: auditrecord.Record{
				Source: auditrecord.SourceGoogleWorkspace, Kind: auditrecord.KindSignIn,
				ID:   "437744618349",
				Time: ts("2022-10-13T20:57:35.833Z"), Operation: "login_success",
				Result: auditrecord.ResultSuccess,
				Actor:  "user1@splunkresearch.com", Target: "user1@splunkresearch.com",
				User: "user1@splunkresearch.com", ActorUserType: -1,
				ClientAddress: "45.23.129.123", ClientIP: ip("45.23.129.123"),
				CloudProvider: "gcp", TenantID: "C046r85ir",
				SignIn: auditrecord.SignIn{Interactive: true, ClientApp: "google_password"},
				Mail:   noMail,
				Events: []auditrecord.Event{{
					Type: "login", Name: "login_success",
					Parameters: []auditrecord.Parameter{
						{Name: "login_type", Value: "google_password"},
						{Name: "login_challenge_method", Value: "password;password;password;password;password"},
						{Name: "is_suspicious", Value: "false"},
					},
				}},
			},
		},
		{
			// An account warning is about the affected user, not the caller.
			name: "google account_warning suspicious_login",
			body: googleSuspiciousLogin,
			want: auditrecord.Record{
				Source: auditrecord.SourceGoogleWorkspace, Kind: auditrecord.KindSignIn,
				ID:   "1",
				Time: ts("2020-10-02T15:00:00Z"), Operation: "suspicious_login",
				Actor: "foo@bar.com", Target: "foo@elastic.co", User: "foo@elastic.co",
				ActorUserType: -1,
				ClientAddress: "67.43.156.13", ClientIP: ip("67.43.156.13"),
				CloudProvider: "gcp", TenantID: "1", TenantDomain: "elastic.com",
				SignIn: auditrecord.SignIn{Interactive: true},
				Mail:   noMail,
				Events: []auditrecord.Event{{
					Type: "account_warning", Name: "suspicious_login",
					Parameters: []auditrecord.Parameter{
						{Name: "affected_email_address", Value: "foo@elastic.co"},
						{Name: "login_timestamp", Value: "1593695305123456"},
					},
				}},
			},
		},
		{
			// The destination is kept as the vendor wrote it (a markdown
			// link); detectors normalise parameter values themselves.
			name: "google email_forwarding_out_of_domain",
			body: googleForwardingOutOfDomain,
			want: auditrecord.Record{
				Source: auditrecord.SourceGoogleWorkspace, Kind: auditrecord.KindMailboxChange,
				ID:   "1",
				Time: ts("2020-10-02T15:00:00Z"), Operation: "email_forwarding_out_of_domain",
				Actor: "foo@bar.com", Target: "foo@bar.com", User: "foo@bar.com",
				ActorUserType: -1,
				ClientAddress: "67.43.156.13", ClientIP: ip("67.43.156.13"),
				CloudProvider: "gcp", TenantID: "1", TenantDomain: "elastic.com",
				Mail: noMail,
				Events: []auditrecord.Event{{
					Type: "email_forwarding_change", Name: "email_forwarding_out_of_domain",
					Parameters: []auditrecord.Parameter{
						{Name: "email_forwarding_destination_address", Value: "[user@email.com](mailto:user@email.com)"},
					},
				}},
			},
		},
		{
			// initiatedBy.user acts; the first target with a UPN is acted on.
			name: "entra AuditLogs Add member to role",
			body: entraAuditAddMemberToRole,
			want: auditrecord.Record{
				Source: auditrecord.SourceEntraAudit, Kind: auditrecord.KindOther,
				ID:   "Directory_b425f2d7-2245-4952-b599-61dff8054f2b_FLAW0_72812697",
				Time: ts("2023-04-28T16:39:51.9312625Z"), Operation: "Add member to role",
				Result: auditrecord.ResultSuccess,
				Actor:  "strt_admin@splunkresearch.com", Target: "user1@splunkresearch.com",
				User: "user1@splunkresearch.com", ActorUserType: -1,
				ClientAddress: "52.177.250.168", ClientIP: ip("52.177.250.168"),
				CloudProvider: "azure", TenantID: "fc69e276-e9e8-4af9-9002-1e410d77244e",
				Modified: []auditrecord.Parameter{
					{Name: "Role.ObjectID", Value: `"38bf5baf-7ec7-4bc2-8920-6d4044da12c2"`},
					{Name: "Role.DisplayName", Value: `"Privileged Role Administrator"`},
					{Name: "Role.TemplateId", Value: `"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"`},
					{Name: "Role.WellKnownObjectName", Value: `"ApplicationAdministrators"`},
				},
				Mail: noMail,
			},
		},
		{
			// REST shape: operationName and status are {value, localizedValue};
			// the client IP and app come from the token claims.
			name: "azure activity REST shape",
			body: azureActivityAutomationAccount,
			want: auditrecord.Record{
				Source: auditrecord.SourceAzureActivity, Kind: auditrecord.KindOther,
				ID:   "b0a0bf02-57e5-4eb3-a36d-f2681d874637",
				Time: ts("2022-08-22T15:09:21.8694806Z"), Operation: "Microsoft.Automation/automationAccounts/write",
				Result: auditrecord.ResultSuccess,
				Actor:  "eviladmin@contoso.com", Target: "eviladmin@contoso.com", User: "eviladmin@contoso.com",
				ActorUserType: -1,
				ClientAddress: "190.0.0.1", ClientIP: ip("190.0.0.1"),
				CloudProvider: "azure", TenantID: "ad251139-d600-4f45-a8ba-9f6ca1e5a93d",
				AppID: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
				Mail:  noMail,
			},
		},
	})
}
