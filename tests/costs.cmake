# How long the slow tests take (seconds, ci preset, this repository's 2-core machine), for
# CTest's COST. With -j, CTest starts tests in descending cost, and on a fresh build it has
# no timings of its own, so it would start them in declaration order: the five-minute
# recording began two thirds of the way through and the serial GUI test waited for it at
# the end. The tests that must run alone come first (the GUI test's cost is set where it
# is added, in CMakeLists.txt, which CTest reads after this file), then the longest. A test
# missing here (new, or renamed) runs after these in declaration order; the names of tests
# a preset does not build are ignored.
set_tests_properties(Packages.InstallWithAptRunAndRegisterThePlayerForStations PROPERTIES COST 9000)
foreach(entry IN ITEMS
        "MixedFormats.PlaysEveryItemOnOneMp3StreamWithoutSilenceAndPlayersSeeEachTitle 305"
        "Page.PlaysFollowsTheScheduleChartsAndLoadsNothingFromElsewhere 62"
        "LiveStationTest.ListenersPlayItContinuouslyAndInStepAndARestartDoesNotBreakThem 42"
        "Listener.ASlowPlayerIsDroppedWhileTheOthersPlayOn 33"
        "Faults.ListenersOnAStationOfShortItemsAllStayUp 32"
        "LiveVideoStationTest.AListenerPlaysItAsOneTransportStreamAcrossSegments 28"
        "Listener.ALaterItemIsNotLookedUpUntilTheItemOnAirIsHere 22"
        "Scale.ListenersFindEachOtherThroughOpentrackerAlone 22"
        "Listener.ALateListenerJoinsMidItem 20"
        "VideoStation.TheStreamIsOneTransportStreamWithRisingTimestamps 18"
        "Aria2c.DownloadsAnItemFromAListenerWithOnlyThePlaylistsTorrent 18"
        "Scale.AListenerFailsOverToASecondGatewayWithoutAGap 17"
        "Listener.StreamPlaysTheScheduledItemsFromTheScheduledOffset 17"
        "VideoStation.VlcPlaysVideoAcrossItems 16"
        "VideoStation.MpvPlaysVideoAcrossItems 16"
        "Listener.OggStationPlaysAsChainedStreams 15"
        "NoGateway.AnAudienceTunedInAtOnceReadsThePiecesFromTheOriginAboutOnce 15"
        "Gateway.ARefusedPieceAnotherListenerHoldsIsOfferedAgainOnlyAfterTheSwarmHadTime 14"
        "Faults.TheGatewayRestartingMidBroadcastIsNotHeard 13"
        "Listener.IcyTitlesChangeAtItemBoundaries 12"
        "Listener.PlaybackGoesOnFromPeersWhenTheOriginDies 12"
        "Gateway.APieceGrantedToAListenerThatLeavesIsOfferedAtOnceToOneRefusedIt 10"
        "GatewayDashboard.ShowsItemsAndChartsLiveInHumanUnits 10")
    string(REPLACE " " ";" entry "${entry}")
    list(GET entry 0 name)
    list(GET entry 1 seconds)
    set_tests_properties("${name}" PROPERTIES COST "${seconds}")
endforeach()
